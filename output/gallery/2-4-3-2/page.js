/* symbackprop's HTML handout: typesets the math with KaTeX, lights a parameter's paths in the
 * network drawing, shows its gradient (or a neuron's net input, output and delta) in the side
 * panel, finds a parameter by the name a reader types, and on a worked example steps gradient
 * descent. A static file: everything it shows comes from the page's JSON block (#page-data),
 * inserted as text or typeset by KaTeX, never run as code. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("page-data").textContent);
  var svg = document.querySelector("svg.network");
  var panel = document.getElementById("panel");
  var byKey = {}, bySymbol = {}, names = [];
  var selected = null; // {kind: "parameter"|"neuron", key: ...}

  function typeset(element, display) {
    katex.render(element.textContent, element, {displayMode: display, throwOnError: false});
  }
  function typesetAll(root) {
    root.querySelectorAll(".m").forEach(function (el) { typeset(el, false); });
    root.querySelectorAll(".dm").forEach(function (el) { typeset(el, true); });
  }

  /* A name as a reader types it, for comparison: no spaces, braces, backslashes or $ signs. */
  function normal(text) {
    return String(text).replace(/[\s{}$\\]/g, "").replace(/^\\?mathrm/, "");
  }
  function loose(text) { return normal(text).replace(/_/g, "").toLowerCase(); }

  (data.parameters || []).forEach(function (p) {
    byKey[p.key] = p;
    bySymbol[p.symbol] = p;
    names.push({kind: "parameter", key: p.key, names: [p.symbol, p.latex]});
  });
  Object.keys(data.neurons || {}).forEach(function (key) {
    var n = data.neurons[key];
    names.push({kind: "neuron", key: key, names: [n.label, n.label.replace(/^\\mathrm\{out\}_/, "")]});
  });

  function element(tag, className, text) {
    var el = document.createElement(tag);
    if (className) { el.className = className; }
    if (text !== undefined) { el.textContent = text; }
    return el;
  }
  function math(latex, display) {
    var el = element(display ? "div" : "span", display ? "dm" : "m", latex);
    typeset(el, display);
    return el;
  }

  function clearLight() {
    if (!svg) { return; }
    svg.classList.remove("selecting");
    svg.querySelectorAll(".lit, .chosen").forEach(function (el) { el.classList.remove("lit", "chosen"); });
  }
  function light(selector, className) {
    svg.querySelectorAll(selector).forEach(function (el) { el.classList.add(className); });
  }
  function showParameter(p) {
    clearLight();
    if (!svg) { return; }
    svg.classList.add("selecting");
    p.edges.forEach(function (key) { light('[data-weight="' + key + '"]', "lit"); });
    p.neurons.forEach(function (key) { light('[data-neuron="' + key + '"]', "lit"); });
    light('[data-weight="' + p.key + '"]', "chosen");
  }
  function showNeuron(key) {
    clearLight();
    if (!svg) { return; }
    svg.classList.add("selecting");
    light('[data-neuron="' + key + '"]', "chosen");
  }

  function fillPanel(title, caption, rows, section) {
    panel.textContent = "";
    var heading = element("h2", "panel-title");
    heading.appendChild(math(title, false));
    panel.appendChild(heading);
    if (caption && caption.length) { // parts: {text} set as text, {math} typeset
      var line = panel.appendChild(element("p", "caption"));
      caption.forEach(function (part) {
        if (part.math !== undefined) { line.appendChild(math(part.math, false)); }
        else { line.appendChild(document.createTextNode(part.text)); }
      });
    }
    rows.forEach(function (row) { panel.appendChild(math(row, true)); });
    if (section && document.getElementById(section)) {
      var link = element("a", "section-link", "Go to its section in the text");
      link.href = "#" + section;
      panel.appendChild(element("p")).appendChild(link);
    }
  }
  function panelFor(kind, key) {
    if (kind === "parameter") {
      var p = byKey[key];
      if (!p) {
        fillPanel("\\text{a weight}", [{text: "This weight is not written out in this handout; derivation.json lists its gradient."}], [], null);
        return;
      }
      showParameter(p);
      fillPanel(p.latex, p.caption, p.rows, p.section);
    } else {
      var n = data.neurons[key];
      showNeuron(key);
      fillPanel(n.label, n.caption, n.rows, n.section);
    }
  }
  function restore() {
    if (selected) { panelFor(selected.kind, selected.key); } else { clearLight(); }
  }
  function select(kind, key) {
    selected = {kind: kind, key: key};
    panelFor(kind, key);
  }

  if (svg) {
    svg.querySelectorAll("[data-weight], [data-neuron]").forEach(function (el) {
      var kind = el.hasAttribute("data-weight") ? "parameter" : "neuron";
      var key = el.getAttribute(kind === "parameter" ? "data-weight" : "data-neuron");
      if (kind === "neuron" && !data.neurons[key]) { return; } // a bias node: its edges are the biases
      el.addEventListener("click", function () { select(kind, key); });
      el.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") { event.preventDefault(); select(kind, key); }
      });
      el.addEventListener("mouseenter", function () { panelFor(kind, key); });
      el.addEventListener("mouseleave", restore);
      if (el.hasAttribute("tabindex")) { // (a focus listener alone makes Chromium focus an SVG element)
        el.addEventListener("focus", function () { panelFor(kind, key); });
      }
    });
  }
  document.querySelectorAll("button.show[data-show]").forEach(function (button) {
    button.addEventListener("click", function () {
      var p = bySymbol[button.getAttribute("data-show")];
      if (p) {
        select("parameter", p.key);
        document.getElementById("explorer").scrollIntoView({block: "start"});
      }
    });
  });

  var form = document.getElementById("search");
  if (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var typed = document.getElementById("find").value, status = document.getElementById("find-status");
      var found = null;
      [normal, loose].some(function (norm) {
        found = names.filter(function (entry) {
          return entry.names.some(function (name) { return norm(name) === norm(typed); });
        })[0] || null;
        return found !== null;
      });
      if (!found) {
        status.textContent = "Nothing here is called \u201c" + typed + "\u201d: type a name as the text writes it, e.g. " +
          document.getElementById("find").placeholder.replace(/^e\.g\. /, "") + ".";
        return;
      }
      status.textContent = "";
      select(found.kind, found.key);
      var attribute = found.kind === "parameter" ? "data-weight" : "data-neuron";
      var target = svg && svg.querySelector("[" + attribute + '="' + found.key + '"][tabindex]');
      if (target) { target.focus({preventScroll: true}); }
    });
  }

  /* -- a worked example: one more step of gradient descent, per layer, in float64 ------------ */
  var ACTIVATIONS = {
    sigmoid: {
      f: function (z) { var e = Math.exp(-Math.abs(z)); return z >= 0 ? 1 / (1 + e) : e / (1 + e); },
      d: function (z) { var e = Math.exp(-Math.abs(z)); return e / Math.pow(1 + e, 2); }
    },
    tanh: {
      f: Math.tanh,
      d: function (z) { var e = Math.exp(-2 * Math.abs(z)); return 4 * e / Math.pow(1 + e, 2); }
    },
    relu: {f: function (z) { return Math.max(0, z); }, d: function (z, a) { return a > 0 ? 1 : 0; }},
    linear: {f: function (z) { return z; }, d: function () { return 1; }},
    softplus: {
      f: function (z) { return Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z))); },
      d: function (z, a) { return -Math.expm1(-a); }
    }
  };
  function softmax(z) {
    var top = Math.max.apply(null, z), e = z.map(function (v) { return Math.exp(v - top); });
    var total = e.reduce(function (s, v) { return s + v; }, 0);
    return e.map(function (v) { return v / total; });
  }
  function layerOut(name, z) {
    return name === "softmax" ? softmax(z) : z.map(ACTIVATIONS[name].f);
  }
  function matVec(a, W, b) { // a W + b, a a row
    return W[0].map(function (_, j) {
      var s = 0;
      for (var i = 0; i < a.length; i++) { s += a[i] * W[i][j]; }
      return b ? s + b[j] : s;
    });
  }
  /* The loss of one sample, in the generated code's stable forms (from the net inputs where it can). */
  function lossOf(model, a, z, y) {
    var L = a.length - 1, out = a[L], zL = z[L], name = model.activations[L - 1], E = 0, j;
    for (j = 0; j < y.length; j++) {
      if (model.loss === "mse") {
        E += 0.5 * Math.pow(y[j] - out[j], 2);
      } else if (model.loss === "bce") {
        E += name === "sigmoid" ? Math.max(zL[j], 0) - y[j] * zL[j] + Math.log1p(Math.exp(-Math.abs(zL[j])))
          : -(y[j] * Math.log(out[j]) + (1 - y[j]) * Math.log(1 - out[j]));
      }
    }
    if (model.loss === "ce") {
      var top = Math.max.apply(null, zL);
      var lse = top + Math.log(zL.reduce(function (s, v) { return s + Math.exp(v - top); }, 0));
      for (j = 0; j < y.length; j++) { E -= y[j] * (zL[j] - lse); }
    }
    return E;
  }
  function forward(model, params) {
    var a = [params.x.slice()], z = [null];
    for (var k = 0; k < params.W.length; k++) {
      var bias = params.b ? (model.shared_bias ? params.W[k][0].map(function () { return params.b[k][0]; }) : params.b[k]) : null;
      z.push(matVec(a[k], params.W[k], bias));
      a.push(layerOut(model.activations[k], z[k + 1]));
    }
    return {a: a, z: z};
  }
  /* The gradient by backpropagation, as the generated NumPy code computes it (row vectors). */
  function gradient(model, params) {
    var pass = forward(model, params), a = pass.a, z = pass.z, y = params.y, L = params.W.length;
    var out = a[L], gW = [], gb = [], gz, ga, j, i;
    var outName = model.activations[L - 1];
    if (outName === "sigmoid" && model.loss === "bce") {
      gz = out.map(function (v, jj) { return v - y[jj]; });
    } else if (outName === "softmax" && model.loss === "ce") {
      var total = y.reduce(function (s, v) { return s + v; }, 0);
      gz = out.map(function (v, jj) { return v * total - y[jj]; });
    } else {
      ga = out.map(function (v, jj) {
        if (model.loss === "mse") { return v - y[jj]; }
        if (model.loss === "bce") { return -y[jj] / v + (1 - y[jj]) / (1 - v); }
        return -y[jj] / v;
      });
      gz = backActivation(outName, z[L], out, ga);
    }
    for (var k = L; k >= 1; k--) {
      gW[k - 1] = a[k - 1].map(function (ai) { return gz.map(function (g) { return ai * g; }); });
      var sum = gz.reduce(function (s, v) { return s + v; }, 0);
      gb[k - 1] = model.shared_bias ? [sum] : gz.slice();
      if (k > 1) {
        ga = [];
        for (i = 0; i < a[k - 1].length; i++) {
          var s = 0;
          for (j = 0; j < gz.length; j++) { s += gz[j] * params.W[k - 1][i][j]; }
          ga.push(s);
        }
        gz = backActivation(model.activations[k - 2], z[k - 1], a[k - 1], ga);
      }
    }
    return {W: gW, b: params.b ? gb : null, loss: lossOf(model, a, z, y)};
  }
  function backActivation(name, z, a, ga) {
    if (name === "softmax") {
      var dot = 0;
      for (var i = 0; i < a.length; i++) { dot += ga[i] * a[i]; }
      return a.map(function (v, j) { return v * (ga[j] - dot); });
    }
    var act = ACTIVATIONS[name];
    return ga.map(function (g, j) { return act.d(z[j], a[j]) * g; });
  }
  function lossAt(model, params) {
    var pass = forward(model, params);
    return lossOf(model, pass.a, pass.z, params.y);
  }

  var stepButton = document.getElementById("step");
  if (stepButton && data.descent) {
    var model = data.descent.model, state = JSON.parse(JSON.stringify(data.descent.params)), steps = data.descent.steps;
    var output = document.getElementById("step-result");
    stepButton.addEventListener("click", function () {
      var g = gradient(model, state), lr = model.lr;
      state.W = state.W.map(function (W, k) { return W.map(function (row, i) { return row.map(function (w, j) { return w - lr * g.W[k][i][j]; }); }); });
      if (state.b && !model.freeze_bias) {
        state.b = state.b.map(function (b, k) { return b.map(function (v, j) { return v - lr * g.b[k][j]; }); });
      }
      steps += 1;
      var after = lossAt(model, state);
      output.textContent = "";
      output.appendChild(element("p", "caption", "After step " + steps + ": the error is " + after.toPrecision(10) +
        " (it was " + g.loss.toPrecision(10) + " before this step)."));
      var table = element("table", "values");
      var head = table.appendChild(element("thead")).appendChild(element("tr"));
      ["parameter", "gradient", "after step " + steps].forEach(function (t) { head.appendChild(element("th", "", t)); });
      var body = table.appendChild(element("tbody"));
      data.descent.shown.forEach(function (entry) {
        var grad = entry.bias ? g.b[entry.k][entry.j] : g.W[entry.k][entry.i][entry.j];
        var value = entry.bias ? state.b[entry.k][entry.j] : state.W[entry.k][entry.i][entry.j];
        var row = body.appendChild(element("tr"));
        row.appendChild(element("td")).appendChild(math(entry.latex, false));
        var gcell = row.appendChild(element("td", "num", grad.toPrecision(8)));
        gcell.setAttribute("data-value", String(grad));
        var vcell = row.appendChild(element("td", "num", value.toPrecision(8)));
        vcell.setAttribute("data-value", String(value));
      });
      var wrap = element("div", "table-wrap");
      wrap.appendChild(table);
      output.appendChild(wrap);
      output.setAttribute("data-state", JSON.stringify({steps: steps, W: state.W, b: state.b, loss: after, loss_before: g.loss}));
    });
  }

  typesetAll(document);
}());
