"""A table of hand-written gradients, half right in varied spellings, half realistic mistakes
(issue 14, items 2 and 6): every right one is accepted, every wrong one rejected with the words
its diagnosis must contain, and none with words that would be false.

The figures over the table (accepted / right, useful diagnoses / wrong, median and worst time
per verdict) are printed by the last test (``pytest -s`` shows them).
"""

import statistics
import time
from functools import cache

import pytest

from symbackprop import derive
from symbackprop.checking.verify import check_gradient

NETWORKS = {  # name -> (spec, options, parameters checked)
    "letters": ("2-2-2", {}, ["w_11", "w_21"]),
    "seed": ("2-4-3-2", {}, ["w_21", "w_31", "w_11"]),
    "layers": ("2-2-2", {"notation": "layers"}, ["W^{[2]}_{1,1}", "W^{[1]}_{1,1}"]),
    "columns": ("2-2-2", {"notation": "columns"}, ["W^{[2]}_{1,2}", "W^{[1]}_{1,1}"]),
    "tanh": ("2-2-2", {"activation": "tanh,sigmoid"}, ["w_11", "w_21"]),
    "relu": ("2-2-2", {"activation": "relu,sigmoid"}, ["w_11"]),
    "bce": ("2-2-2", {"loss": "bce"}, ["w_21", "w_11"]),
    "ce": ("2-2-2", {"loss": "ce"}, ["w_21", "w_11"]),
}


@cache
def network(name):
    spec, options, parameters = NETWORKS[name]
    return derive(spec, only=parameters, proof="gradients", **options)


# letters 2-2-2: w_11 = a_1→b_1, w_21 = b_1→c_1, w_23 = b_1→c_2; δ_{b_1} = (δ_{c_1} w_{21} + δ_{c_2} w_{23}) σ'(b_1)
DC1 = "(out_{c_1} - target_{c_1}) out_{c_1} (1 - out_{c_1})"
DC2 = "(out_{c_2} - target_{c_2}) out_{c_2} (1 - out_{c_2})"
SB1 = "out_{b_1}(1 - out_{b_1})"
TB1 = "(1 - out_{b_1}^2)"

RIGHT = [
    # letters, output weight
    ("letters", "w_21", "(out_c1 - target_c1)*out_c1*(1 - out_c1)*out_b1"),
    ("letters", "w_21", r"\left(\mathrm{out}_{c_1} - \mathrm{target}_{c_1}\right) \cdot \mathrm{out}_{c_1} \left(1 - \mathrm{out}_{c_1}\right) \cdot \mathrm{out}_{b_1}"),
    ("letters", "w_21", r"\delta_{c_1} out_{b_1}"),
    ("letters", "w_21", r"out_{b_1} \cdot \delta_{c_1}"),
    ("letters", "w_21", r"-(target_{c_1} - out_{c_1}) \sigma(net_{c_1})(1 - \sigma(net_{c_1})) out_{b_1}"),
    ("letters", "w_21", r"\frac{e^{-net_{c_1}}}{(1 + e^{-net_{c_1}})^2} (out_{c_1} - target_{c_1}) out_{b_1}"),
    ("letters", "w_21", r"(out_{c_1}^2 - out_{c_1} target_{c_1}) (1 - out_{c_1}) out_{b_1}"),
    ("letters", "w_21", r"\frac{\partial E_{total}}{\partial out_{c_1}} \frac{\partial out_{c_1}}{\partial net_{c_1}} out_{b_1}"),
    # letters, hidden weight
    ("letters", "w_11", rf"({DC1} w_{{21}} + {DC2} w_{{23}}) {SB1} out_{{a_1}}"),
    ("letters", "w_11", rf"(\delta_{{c_1}} w_{{21}} + \delta_{{c_2}} w_{{23}}) {SB1} out_{{a_1}}"),
    ("letters", "w_11", r"\delta_{b_1} out_{a_1}"),
    ("letters", "w_11", rf"{DC1} w_{{21}} {SB1} out_{{a_1}} + {DC2} w_{{23}} {SB1} out_{{a_1}}"),
    ("letters", "w_11", rf"out_{{a_1}} {SB1} (w_{{23}} \delta_{{c_2}} + w_{{21}} \delta_{{c_1}})"),
    ("letters", "w_11", r"(delta_c1*w21 + delta_c2*w23)*out_b1*(1-out_b1)*out_a1"),
    ("letters", "w_11", r"\left(\delta_{c_1} \cdot w_{21} + \delta_{c_2} \cdot w_{23}\right) \cdot \sigma(net_{b_1}) \left(1 - \sigma(net_{b_1})\right) \cdot out_{a_1}"),
    # seed 2-4-3-2
    ("seed", "w_31", "(out_d1 - target_d1)*out_d1*(1 - out_d1)*out_c1"),
    ("seed", "w_31", r"\delta_{d_1} \cdot out_{c_1}"),
    ("seed", "w_21", r"\delta_{c_1} out_{b_1}"),
    ("seed", "w_21", r"(\delta_{d_1} w_{31} + \delta_{d_2} w_{34}) out_{c_1}(1 - out_{c_1}) out_{b_1}"),
    ("seed", "w_21", (r"(out_{d_1} - target_{d_1}) out_{d_1} (1 - out_{d_1}) w_{31} out_{c_1} (1 - out_{c_1}) out_{b_1} + "
                      r"(out_{d_2} - target_{d_2}) out_{d_2} (1 - out_{d_2}) w_{34} out_{c_1} (1 - out_{c_1}) out_{b_1}")),
    ("seed", "w_11", r"\delta_{b_1} out_{a_1}"),
    ("seed", "w_11", r"(\delta_{c_1} w_{21} + \delta_{c_2} w_{25} + \delta_{c_3} w_{29}) out_{b_1} (1 - out_{b_1}) out_{a_1}"),
    # layers notation (seed 001): W^{[k]}_{i,j} from i to j
    ("layers", "W^{[2]}_{1,1}", r"(\hat{y}_1 - y_1) \hat{y}_1 (1 - \hat{y}_1) a^{[1]}_1"),
    ("layers", "W^{[2]}_{1,1}", r"g^{[2z]}_1 a^{[1]}_1"),
    ("layers", "W^{[2]}_{1,1}", r"\left(\hat{y}_{1} - y_{1}\right) \cdot \hat{y}_{1} \left(1 - \hat{y}_{1}\right) \cdot a^{[1]}_{1}"),
    ("layers", "W^{[1]}_{1,1}", r"(g^{[2z]}_1 W^{[2]}_{1,1} + g^{[2z]}_2 W^{[2]}_{1,2}) a^{[1]}_1 (1 - a^{[1]}_1) a^{[0]}_1"),
    ("layers", "W^{[1]}_{1,1}", r"g^{[1z]}_1 a^{[0]}_1"),
    ("layers", "W^{[1]}_{1,1}", r"a^{[0]}_1 a^{[1]}_1 (1 - a^{[1]}_1) (W^{[2]}_{1,2} g^{[2z]}_2 + W^{[2]}_{1,1} g^{[2z]}_1)"),
    # columns notation (Nielsen, Ng): W^{[l]}_{j,k} from k to j
    ("columns", "W^{[2]}_{1,2}", r"\delta^{[2]}_1 a^{[1]}_2"),
    ("columns", "W^{[2]}_{1,2}", r"(\hat{y}_1 - y_1) \hat{y}_1 (1 - \hat{y}_1) a^{[1]}_2"),
    ("columns", "W^{[1]}_{1,1}", r"(W^{[2]}_{1,1} \delta^{[2]}_1 + W^{[2]}_{2,1} \delta^{[2]}_2) a^{[1]}_1 (1 - a^{[1]}_1) a^{[0]}_1"),
    ("columns", "W^{[1]}_{1,1}", r"\delta^{[1]}_1 a^{[0]}_1"),
    ("columns", "W^{[1]}_{1,1}", r"\left(W^{[2]}_{1,1} \delta^{[2]}_1 + W^{[2]}_{2,1} \delta^{[2]}_2\right) \cdot \sigma(z^{[1]}_1)(1 - \sigma(z^{[1]}_1)) \cdot a^{[0]}_1"),
    # tanh hidden layer
    ("tanh", "w_11", rf"(\delta_{{c_1}} w_{{21}} + \delta_{{c_2}} w_{{23}}) {TB1} out_{{a_1}}"),
    ("tanh", "w_11", r"(\delta_{c_1} w_{21} + \delta_{c_2} w_{23}) (1 - \tanh(net_{b_1})^2) out_{a_1}"),
    ("tanh", "w_11", r"\delta_{b_1} out_{a_1}"),
    ("tanh", "w_11", rf"{DC1} w_{{21}} {TB1} out_{{a_1}} + {DC2} w_{{23}} {TB1} out_{{a_1}}"),
    ("tanh", "w_21", rf"{DC1} out_{{b_1}}"),
    ("tanh", "w_21", r"\delta_{c_1} \tanh(net_{b_1})"),
    # relu hidden layer
    ("relu", "w_11", r"\delta_{b_1} out_{a_1}"),
    ("relu", "w_11", r"(\delta_{c_1} w_{21} + \delta_{c_2} w_{23}) H(out_{b_1}) out_{a_1}"),
    # sigmoid + binary cross-entropy
    ("bce", "w_21", r"(out_{c_1} - target_{c_1}) out_{b_1}"),
    ("bce", "w_21", r"\delta_{c_1} out_{b_1}"),
    ("bce", "w_21", r"\left(\frac{1 - target_{c_1}}{1 - out_{c_1}} - \frac{target_{c_1}}{out_{c_1}}\right) out_{c_1}(1 - out_{c_1}) out_{b_1}"),
    ("bce", "w_21", r"(\sigma(net_{c_1}) - target_{c_1}) out_{b_1}"),
    ("bce", "w_11", r"((out_{c_1} - target_{c_1}) w_{21} + (out_{c_2} - target_{c_2}) w_{23}) out_{b_1} (1 - out_{b_1}) out_{a_1}"),
    ("bce", "w_11", r"\delta_{b_1} out_{a_1}"),
    # softmax + cross-entropy (the targets sum to 1)
    ("ce", "w_21", r"(out_{c_1} - target_{c_1}) out_{b_1}"),
    ("ce", "w_21", r"\delta_{c_1} out_{b_1}"),
    ("ce", "w_21", r"(out_{c_1} (target_{c_1} + target_{c_2}) - target_{c_1}) out_{b_1}"),
    ("ce", "w_11", r"((out_{c_1} - target_{c_1}) w_{21} + (out_{c_2} - target_{c_2}) w_{23}) out_{b_1}(1 - out_{b_1}) out_{a_1}"),
    ("ce", "w_11", r"(\delta_{c_1} w_{21} + \delta_{c_2} w_{23}) out_{b_1}(1 - out_{b_1}) out_{a_1}"),
    ("ce", "w_11", r"\delta_{b_1} out_{a_1}"),
    # more spellings
    ("letters", "w_21", r"(out_{c_1} - target_{c_1}) \times out_{c_1} \times (1 - out_{c_1}) \times out_{b_1}"),
    ("letters", "w_{11}", r"out_{a_1} \delta_{b_1}"),
    ("seed", "w_{31}", r"\delta_{d_1} \mathrm{out}_{c_1}"),
    ("tanh", "w_21", r"\delta_{c_1} out_{b_1}"),
    ("relu", "w_11", r"(\delta_{c_1} w_{21} + \delta_{c_2} w_{23}) H(net_{b_1}) out_{a_1}"),
    ("layers", "W^{[2]}_{1,1}", r"(\sigma(z^{[2]}_1) - y_1) \sigma(z^{[2]}_1)(1 - \sigma(z^{[2]}_1)) a^{[1]}_1"),
    ("columns", "W^{[2]}_{1,2}", r"a^{[1]}_2 \delta^{[2]}_1"),
    ("bce", "w_21", r"(out_c1 - target_c1)*out_b1"),
    ("ce", "w_21", r"(\mathrm{out}_{c_1} - \mathrm{target}_{c_1}) \cdot \mathrm{out}_{b_1}"),
]

# (network, parameter, formula, words the diagnosis must contain, words it must not contain)
WRONG = [
    # a missing or extra term
    ("letters", "w_11", rf"\delta_{{c_1}} w_{{21}} {SB1} out_{{a_1}}", ["the term through c_2 is missing"], ["sign"]),
    ("letters", "w_11", rf"{DC1} w_{{21}} {SB1} out_{{a_1}}", ["the term through c_2 is missing"], ["sign"]),
    ("seed", "w_21", r"\delta_{d_1} w_{31} out_{c_1}(1 - out_{c_1}) out_{b_1}", ["the term through d_2 is missing"], []),
    ("seed", "w_21", r"(out_{d_1} - target_{d_1}) out_{d_1} (1 - out_{d_1}) w_{31} out_{c_1} (1 - out_{c_1}) out_{b_1}",
     ["the term through d_2 is missing"], []),
    ("seed", "w_11", r"(\delta_{c_1} w_{21} + \delta_{c_2} w_{25}) out_{b_1}(1 - out_{b_1}) out_{a_1}", ["the term through c_3 is missing"], []),
    ("layers", "W^{[1]}_{1,1}", r"g^{[2z]}_1 W^{[2]}_{1,1} a^{[1]}_1 (1 - a^{[1]}_1) a^{[0]}_1", ["is missing"], ["sign"]),
    ("columns", "W^{[1]}_{1,1}", r"W^{[2]}_{1,1} \delta^{[2]}_1 a^{[1]}_1 (1 - a^{[1]}_1) a^{[0]}_1", ["is missing"], ["sign"]),
    ("tanh", "w_11", rf"\delta_{{c_1}} w_{{21}} {TB1} out_{{a_1}}", ["the term through c_2 is missing"], []),
    ("ce", "w_11", r"\delta_{c_1} w_{21} out_{b_1}(1 - out_{b_1}) out_{a_1}", ["the term through c_2 is missing"], []),
    ("bce", "w_11", r"(out_{c_1} - target_{c_1}) w_{21} out_{b_1} (1 - out_{b_1}) out_{a_1}", ["the term through c_2 is missing"], []),
    ("seed", "w_21", r"\delta_{c_1} out_{b_1} + w_{11} out_{a_1}", ["extra"], []),
    # a wrong weight
    ("letters", "w_11", rf"(\delta_{{c_1}} w_{{21}} + \delta_{{c_2}} w_{{22}}) {SB1} out_{{a_1}}",
     ["the term through c_2 has a wrong weight: w_{22} where it needs w_{23}"], ["sign"]),
    ("letters", "w_11", rf"(\delta_{{c_1}} w_{{21}} + \delta_{{c_2}} w_{{24}}) {SB1} out_{{a_1}}", ["w_{24} where it needs w_{23}"], []),
    ("seed", "w_21", r"(\delta_{d_1} w_{31} + \delta_{d_2} w_{33}) out_{c_1}(1 - out_{c_1}) out_{b_1}",
     ["the term through d_2 has a wrong weight: w_{33} where it needs w_{34}"], []),
    ("seed", "w_21", r"(\delta_{d_1} w_{31} + \delta_{d_2} w_{31}) out_{c_1}(1 - out_{c_1}) out_{b_1}", ["w_{31} where it needs w_{34}"], []),
    ("layers", "W^{[1]}_{1,1}", r"(g^{[2z]}_1 W^{[2]}_{1,1} + g^{[2z]}_2 W^{[2]}_{2,1}) a^{[1]}_1 (1 - a^{[1]}_1) a^{[0]}_1",
     ["W^{[2]}_{2,1} where it needs W^{[2]}_{1,2}"], []),
    ("columns", "W^{[1]}_{1,1}", r"(W^{[2]}_{1,1} \delta^{[2]}_1 + W^{[2]}_{1,2} \delta^{[2]}_2) a^{[1]}_1 (1 - a^{[1]}_1) a^{[0]}_1",
     ["W^{[2]}_{1,2} where it needs W^{[2]}_{2,1}"], []),
    ("tanh", "w_11", rf"(\delta_{{c_1}} w_{{21}} + \delta_{{c_2}} w_{{22}}) {TB1} out_{{a_1}}", ["w_{22} where it needs w_{23}"], []),
    # a missing activation derivative; the wrong layer's; the wrong activation's; σ for σ'
    ("letters", "w_11", r"(\delta_{c_1} w_{21} + \delta_{c_2} w_{23}) out_{a_1}", ["activation derivative", "b_1 is missing"], ["sign"]),
    ("seed", "w_21", r"(\delta_{d_1} w_{31} + \delta_{d_2} w_{34}) out_{b_1}", ["activation derivative", "c_1 is missing"], []),
    ("letters", "w_21", r"(out_{c_1} - target_{c_1}) out_{b_1}", ["activation derivative", "c_1 is missing"], []),
    ("layers", "W^{[2]}_{1,1}", r"(\hat{y}_1 - y_1) a^{[1]}_1", ["activation derivative", "is missing"], []),
    ("letters", "w_11", r"(\delta_{c_1} w_{21} + \delta_{c_2} w_{23}) out_{c_1}(1 - out_{c_1}) out_{a_1}",
     ["the output layer's activation derivative", "used for b_1"], ["sign"]),
    ("seed", "w_21", r"(\delta_{d_1} w_{31} + \delta_{d_2} w_{34}) out_{d_1}(1 - out_{d_1}) out_{b_1}",
     ["the output layer's activation derivative", "used for c_1"], []),
    ("columns", "W^{[1]}_{1,1}", r"(W^{[2]}_{1,1} \delta^{[2]}_1 + W^{[2]}_{2,1} \delta^{[2]}_2) \hat{y}_1 (1 - \hat{y}_1) a^{[0]}_1",
     ["the output layer's activation derivative"], []),
    ("letters", "w_11", r"(\delta_{c_1} w_{21} + \delta_{c_2} w_{23}) out_{b_1} out_{a_1}", ["written for", "b_1"], []),
    ("letters", "w_21", r"(out_{c_1} - target_{c_1}) out_{c_1} out_{b_1}", ["written for"], []),
    ("layers", "W^{[1]}_{1,1}", r"(g^{[2z]}_1 W^{[2]}_{1,1} + g^{[2z]}_2 W^{[2]}_{1,2}) a^{[1]}_1 a^{[0]}_1", ["written for"], []),
    ("tanh", "w_11", r"(\delta_{c_1} w_{21} + \delta_{c_2} w_{23}) out_{b_1}(1 - out_{b_1}) out_{a_1}",
     ["the derivative of sigmoid", "tanh needs"], []),
    ("tanh", "w_11", r"(\delta_{c_1} w_{21} + \delta_{c_2} w_{23}) (1 - out_{b_1}) out_{a_1}", ["tanh' written"], []),
    ("tanh", "w_11", r"(\delta_{c_1} w_{21} + \delta_{c_2} w_{23}) out_{a_1}", ["activation derivative", "is missing"], []),
    ("tanh", "w_11", r"(\delta_{c_1} w_{21} + \delta_{c_2} w_{23}) out_{b_1} out_{a_1}", ["written for"], []),
    ("tanh", "w_21", r"(out_{c_1} - target_{c_1}) (1 - out_{c_1}^2) out_{b_1}", ["the derivative of tanh"], []),
    # net/z where out/a is needed, and the reverse
    ("letters", "w_11", r"(\delta_{c_1} w_{21} + \delta_{c_2} w_{23}) net_{b_1}(1 - net_{b_1}) out_{a_1}",
     [r"\mathrm{net}_{b_1} where \mathrm{out}_{b_1} is needed"], []),
    ("letters", "w_21", r"\delta_{c_1} net_{b_1}", [r"\mathrm{net}_{b_1} where \mathrm{out}_{b_1} is needed"], []),
    ("seed", "w_31", r"\delta_{d_1} net_{c_1}", [r"\mathrm{net}_{c_1} where \mathrm{out}_{c_1} is needed"], []),
    ("layers", "W^{[2]}_{1,1}", r"g^{[2z]}_1 z^{[1]}_1", ["z^{[1]}_{1} where a^{[1]}_{1} is needed"], []),
    ("columns", "W^{[2]}_{1,2}", r"\delta^{[2]}_1 z^{[1]}_2", ["z^{[1]}_{2} where a^{[1]}_{2} is needed"], []),
    ("letters", "w_21", r"(net_{c_1} - target_{c_1}) out_{c_1}(1 - out_{c_1}) out_{b_1}",
     [r"\mathrm{net}_{c_1} where \mathrm{out}_{c_1} is needed"], []),
    # a sign flip; a factor 2
    ("letters", "w_21", r"(target_{c_1} - out_{c_1}) out_{c_1}(1 - out_{c_1}) out_{b_1}",
     ["the sign is flipped", r"not \mathrm{target}_{c_1} − \mathrm{out}_{c_1}"], ["twice"]),
    ("seed", "w_31", r"(target_{d_1} - out_{d_1}) out_{d_1}(1 - out_{d_1}) out_{c_1}", ["the sign is flipped"], []),
    ("layers", "W^{[2]}_{1,1}", r"(y_1 - \hat{y}_1) \hat{y}_1 (1 - \hat{y}_1) a^{[1]}_1", ["the sign is flipped"], []),
    ("seed", "w_21", r"((target_{d_1} - out_{d_1}) out_{d_1}(1 - out_{d_1}) w_{31} + \delta_{d_2} w_{34}) out_{c_1}(1 - out_{c_1}) out_{b_1}",
     [r"\mathrm{out}_{d_1} has the wrong sign"], []),
    ("letters", "w_21", r"2 (out_{c_1} - target_{c_1}) out_{c_1}(1 - out_{c_1}) out_{b_1}", ["twice", "½"], ["sign"]),
    ("seed", "w_11", r"2 \delta_{b_1} out_{a_1}", ["twice"], ["sign"]),
    ("columns", "W^{[2]}_{1,2}", r"2 (\hat{y}_1 - y_1) \hat{y}_1 (1 - \hat{y}_1) a^{[1]}_2", ["twice"], ["sign"]),
    ("letters", "w_21", r"\frac{1}{2} \delta_{c_1} out_{b_1}", ["half the gradient"], ["sign"]),
    ("letters", "w_21", r"-2 \delta_{c_1} out_{b_1}", ["the sign is flipped"], []),
    # another parameter's gradient: swapped or transposed indices
    ("letters", "w_11", r"\delta_{b_2} out_{a_1}", ["the gradient of w_{13}"], ["sign"]),
    ("letters", "w_21", r"\delta_{c_2} out_{b_1}", ["the gradient of w_{23}"], []),
    ("seed", "w_21", r"\delta_{c_2} out_{b_1}", ["the gradient of w_{25}"], []),
    ("layers", "W^{[2]}_{1,1}", r"g^{[2z]}_2 a^{[1]}_1", ["the gradient of W^{[2]}_{1,2}"], []),
    ("layers", "W^{[1]}_{1,1}", r"g^{[1z]}_2 a^{[0]}_1", ["the gradient of W^{[1]}_{1,2}"], []),
    ("columns", "W^{[2]}_{1,2}", r"\delta^{[2]}_2 a^{[1]}_1", ["the gradient of W^{[2]}_{2,1}", "indices swapped"], []),
    ("columns", "W^{[1]}_{1,1}", r"\delta^{[1]}_2 a^{[0]}_1", ["the gradient of W^{[1]}_{2,1}"], []),
    ("tanh", "w_11", r"\delta_{b_1} out_{a_2}", ["the gradient of w_{12}"], []),
    # relu's gate forgotten
    ("relu", "w_11", r"(\delta_{c_1} w_{21} + \delta_{c_2} w_{23}) out_{a_1}", ["relu's gate", "forgotten"], []),
    ("relu", "w_11", r"(\delta_{c_1} w_{21} + \delta_{c_2} w_{22}) H(net_{b_1}) out_{a_1}", ["w_{22} where it needs w_{23}"], []),
    ("relu", "w_11", r"\delta_{c_1} w_{21} H(net_{b_1}) out_{a_1}", ["the term through c_2 is missing"], []),
    # the cross-entropies: sigmoid-style deltas, dropped off-diagonal terms
    ("bce", "w_21", r"(out_{c_1} - target_{c_1}) out_{c_1} (1 - out_{c_1}) out_{b_1}", ["sigmoid-style", "the factors cancel"], ["sign"]),
    ("bce", "w_21", r"(target_{c_1} - out_{c_1}) out_{b_1}", ["the sign is flipped"], []),
    ("bce", "w_21", r"(out_{c_1} - target_{c_1}) net_{b_1}", [r"\mathrm{net}_{b_1} where \mathrm{out}_{b_1} is needed"], []),
    ("bce", "w_11", r"((out_{c_1} - target_{c_1}) w_{21} + (out_{c_2} - target_{c_2}) w_{23}) out_{a_1}", ["activation derivative"], []),
    ("ce", "w_21", r"(out_{c_1} - target_{c_1}) out_{c_1} (1 - out_{c_1}) out_{b_1}", ["sigmoid-style", "softmax + cross-entropy"], []),
    ("ce", "w_21", r"-target_{c_1} (1 - out_{c_1}) out_{b_1}", ["off-diagonal terms are dropped"], []),
    ("ce", "w_21", r"(target_{c_1} - out_{c_1}) out_{b_1}", ["the sign is flipped"], []),
    ("ce", "w_21", r"out_{c_1} out_{b_1}", ["the target is missing", r"\mathrm{out}_{c_1} - \mathrm{target}_{c_1}"], ["term through"]),
    ("bce", "w_21", r"out_{c_1} out_{b_1}", ["the target is missing"], []),
    # with targets that sum to 1, ŷ_2 − y_2 = −(ŷ_1 − y_1): the negative, and said without a false "why"
    ("ce", "w_21", r"(out_{c_2} - target_{c_2}) out_{b_1}", ["the sign is flipped"], ["target − out"]),
    ("ce", "w_11", r"(\delta_{c_1} w_{21} + \delta_{c_2} w_{22}) out_{b_1}(1 - out_{b_1}) out_{a_1}", ["w_{22} where it needs w_{23}"], []),
    # both weights of a factored recursion wrong: its sum multiplied out, term by term
    ("letters", "w_11", r"(\delta_{c_1} w_{22} + \delta_{c_2} w_{24}) out_{b_1}(1 - out_{b_1}) out_{a_1}",
     ["the term through c_1 has a wrong factor: w_{22} instead of w_{21}", "the term through c_2 has a wrong factor: w_{24} instead of w_{23}"], []),
    ("ce", "w_11", r"(\delta_{c_1} w_{21} + \delta_{c_2} w_{23}) out_{a_1}", ["activation derivative", "is missing"], []),
    # more of the usual ones, in other spellings
    ("letters", "w_21", r"(out_c1 - target_c1)*(1 - out_c1)*out_b1", [r"no factor \mathrm{out}_{c_1}"], []),
    ("letters", "w_11", r"(delta_c1*w21 + delta_c2*w23)*out_a1", ["activation derivative"], []),
    ("letters", "w_11", r"(delta_c1*w21)*out_b1*(1-out_b1)*out_a1", ["the term through c_2 is missing"], []),
    ("seed", "w_31", r"\delta_{d_1} out_{c_2}", ["the gradient of w_{32}"], []),
    ("seed", "w_31", r"(out_{d_1} - target_{d_1}) out_{c_1}", ["activation derivative", "is missing"], []),
    ("seed", "w_11", r"(\delta_{c_1} w_{21} + \delta_{c_2} w_{25} + \delta_{c_3} w_{29}) out_{a_1}", ["activation derivative", "b_1"], []),
    ("layers", "W^{[2]}_{1,1}", r"(\hat{y}_1 - y_1) \hat{y}_1 a^{[1]}_1", ["written for"], []),
    ("columns", "W^{[2]}_{1,2}", r"(y_1 - \hat{y}_1) \hat{y}_1 (1 - \hat{y}_1) a^{[1]}_2", ["the sign is flipped"], []),
    ("tanh", "w_21", r"(target_{c_1} - out_{c_1}) out_{c_1}(1 - out_{c_1}) out_{b_1}", ["the sign is flipped"], []),
    ("tanh", "w_21", r"(out_{c_1} - target_{c_1}) out_{c_1}(1 - out_{c_1}) net_{b_1}", ["where \\mathrm{out}_{b_1} is needed"], []),
    ("bce", "w_21", r"2 (out_{c_1} - target_{c_1}) out_{b_1}", ["twice"], ["½"]),
    ("ce", "w_21", r"(out_{c_1} - target_{c_1}) out_{b_2}", ["the gradient of w_{22}"], []),
]

NEVER = ["a different value"]  # vague words that would hide the mistake
TIMES: list[float] = []
OUTCOMES: dict[str, list[bool]] = {"right": [], "wrong": []}


def _check(name, parameter, formula):
    derivation = network(name)
    started = time.perf_counter()
    verdict = check_gradient(derivation, parameter, formula)
    TIMES.append(time.perf_counter() - started)
    return verdict


def test_the_table_is_big_enough():
    assert len(RIGHT) >= 60 and len(WRONG) >= 60 and len(RIGHT) + len(WRONG) >= 120
    assert len({(n, p, f) for n, p, f in RIGHT}) == len(RIGHT)
    assert len({(n, p, f) for n, p, f, _, _ in WRONG}) == len(WRONG)


@pytest.mark.parametrize("name, parameter, formula", RIGHT)
def test_a_right_formula_is_accepted(name, parameter, formula):
    verdict = _check(name, parameter, formula)
    OUTCOMES["right"].append(verdict.correct is True)
    assert verdict.correct is True, (verdict.method, verdict.note)
    assert verdict.diagnosis == []


@pytest.mark.parametrize("name, parameter, formula, words, forbidden", WRONG)
def test_a_wrong_formula_is_named(name, parameter, formula, words, forbidden):
    verdict = _check(name, parameter, formula)
    said = " | ".join(verdict.diagnosis)
    useful = verdict.correct is False and all(w in said for w in words) and not any(w in said for w in forbidden + NEVER)
    OUTCOMES["wrong"].append(useful)
    assert verdict.correct is False
    assert verdict.point is not None
    assert len(verdict.diagnosis) >= 1, "no diagnosis"
    for word in words:
        assert word in said, said
    for word in forbidden + NEVER:
        assert word not in said, said


def test_softmax_path_labels_name_the_whole_route():
    mse = derive("2-2-2", activation="sigmoid,softmax", only=["w_11"], proof="gradients")
    verdict = check_gradient(mse, "w_11", r"\delta_{c_1} w_{21} out_{b_1}(1 - out_{b_1}) out_{a_1}")
    labels = [term.route for term in verdict.terms if term.route]
    assert labels and len(labels) == len(set(labels))


def test_softmax_cross_entropy_gets_no_words_about_its_path_terms():
    """ŷ_1 for ∂L/∂b_1 (the −y_1 dropped) was "the term through ŷ1→ŷ2 has no factor y_2": softmax +
    cross-entropy's path terms are not what anyone writes, so only the named mistakes speak."""
    verdict = check_gradient(network("ce"), "w_11", r"\delta_{c_1} w_{21} out_{a_1}")
    assert verdict.correct is False and verdict.terms == ()
    ng = derive("4-3", notation="columns", loss="ce", bias=True, proof="gradients")
    dropped = check_gradient(ng, "b^{[1]}_2", r"\hat{y}_2")
    assert dropped.diagnosis == [r"the target is missing: \delta^{[1]}_{2} = \hat{y}_{2} - y_{2}, not \hat{y}_{2}"]


def test_the_witness_respects_the_cross_entropys_assumption():
    verdict = check_gradient(network("ce"), "w_21", r"(out_{c_1} - target_{c_1}) out_{c_1} (1 - out_{c_1}) out_{b_1}")
    assert verdict.correct is False
    assert verdict.point["target_c_1"] + verdict.point["target_c_2"] == pytest.approx(1.0)


def test_the_correct_formula_is_the_simplest_proven_form():
    for name in ("bce", "ce"):
        verdict = check_gradient(network(name), "w_21", r"out_{b_1}")
        assert verdict.expected_latex == r"\left(\mathrm{out}_{c_1} - \mathrm{target}_{c_1}\right) \cdot \mathrm{out}_{b_1}"


def test_the_correct_formula_is_shortened_for_wide_layers():
    wide = derive("3-12-9-2", only=["w_11"], proof="gradients")
    verdict = check_gradient(wide, "w_11", r"\delta_{c_1} w_{11} out_{a_2}")
    assert verdict.correct is False
    assert r"\dots" in verdict.expected_latex and verdict.expected_latex.count(r"\delta_{c_") == 3


def test_the_correct_formula_is_written_in_the_deltas_the_student_wrote():
    """δ_{b_1} out_{a_2} for ∂E/∂w_{11}: the correction is δ_{b_1} · out_{a_1}, not 108 path terms; a formula
    with the next layer's deltas gets δ_{b_1}'s recursion too; one without deltas the path sum."""
    wide = derive("3-12-9-2", only=["w_11"], proof="gradients")
    verdict = check_gradient(wide, "w_11", r"\delta_{b_1} out_{a_2}")
    assert verdict.correct is False and "the gradient of w_{12}" in " ".join(verdict.diagnosis)
    assert verdict.expected_latex == r"\delta_{b_1} \cdot \mathrm{out}_{a_1}"
    small = network("letters")
    paths = check_gradient(small, "w_11", r"out_{a_1} out_{b_1}").expected_latex
    assert r"\delta" not in paths and paths.count(" + ") == 1  # through c_1 and c_2
    recursion = check_gradient(small, "w_11", r"\delta_{c_1} w_{21} out_{a_1}").expected_latex
    assert recursion.startswith(r"\delta_{b_1} \cdot \mathrm{out}_{a_1}, where \delta_{b_1} = ")


def test_an_unrecognised_mistake_gets_no_invented_words():
    verdict = check_gradient(network("letters"), "w_21", r"out_{b_1} out_{c_1} + w_{11}^3")
    assert verdict.correct is False
    assert verdict.mistakes == ()


def test_zz_report_over_the_table(capsys):
    """The figures issue 14 asks for (run last in this module)."""
    right, wrong = OUTCOMES["right"], OUTCOMES["wrong"]
    if len(right) < len(RIGHT) or len(wrong) < len(WRONG):
        pytest.skip("the table ran in part here (a -k selection, or split across xdist workers): run `python -m pytest tests/test_diagnosis.py -p no:xdist` for its figures")
    with capsys.disabled():
        print(f"\nverify table: {sum(right)}/{len(right)} right formulas accepted, "
              f"{sum(wrong)}/{len(wrong)} wrong formulas usefully diagnosed, "
              f"median {statistics.median(TIMES) * 1e3:.0f} ms, worst {max(TIMES) * 1e3:.0f} ms per verdict")
    assert sum(right) == len(right) and sum(wrong) == len(wrong)
