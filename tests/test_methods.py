"""The shared CNN/LLM pruning methods on small models."""

import copy

import pytest
import torch
from torch import nn

from marl_prune.methods.components import component_sweep, component_weights, prune_components
from marl_prune.methods.distill import capture_outputs, sparse_finetune, square_head_loss
from marl_prune.methods.lottery import average_weights, colt, imp, prune_survivors, swamp
from marl_prune.methods.training import classification_loss, minibatches, train_masked
from marl_prune.methods.transfer import full_finetune, linear_probe
from marl_prune.pruning import MaskSet, keep_count, prunable_weights
from marl_prune.pruning.layer_amounts import erk_amounts, lamp_amounts, masks_from_amounts, uniform_plus_amounts
from marl_prune.testbeds.digits_cnn import SmallCNN, digits_split
from marl_prune.testbeds.tiny_lm import TinyLM, lm_loss, markov_text

sklearn = pytest.importorskip("sklearn")


# ------------------------------------------------------------------------ allocators
def test_uniform_plus_budget_by_hand():
    shapes = {"first": (10, 10), "mid": (100, 10), "last": (10, 10)}  # 100 + 1000 + 100
    amounts = uniform_plus_amounts(shapes, 0.9)  # keep 120 in all
    assert amounts["first"] == 0.0
    assert amounts["last"] == pytest.approx(0.8)  # 10% would be under the 20% floor
    assert amounts["mid"] == pytest.approx(1 - (120 - 100 - 20) / 1000)


def test_erk_budget_and_proportions():
    shapes = {"a": (64, 32), "b": (10, 64), "c": (256, 256)}
    amounts = erk_amounts(shapes, 0.9)
    sizes = {n: s[0] * s[1] for n, s in shapes.items()}
    kept = sum((1 - amounts[n]) * sizes[n] for n in shapes)
    assert kept == pytest.approx(keep_count(sum(sizes.values()), 0.9), abs=1e-6)
    dense = [n for n in shapes if amounts[n] == 0.0]
    free = [n for n in shapes if n not in dense]
    ratios = [(1 - amounts[n]) / (sum(shapes[n]) / sizes[n]) for n in free]
    assert ratios == pytest.approx([ratios[0]] * len(ratios))  # density ∝ (n_in + n_out) / (n_in n_out)


def test_lamp_amounts_never_empty_a_layer_and_hit_the_budget():
    torch.manual_seed(0)
    weights = {"small": torch.randn(8, 8) * 0.01, "big": torch.randn(64, 64)}
    amounts = lamp_amounts(weights, 0.98)
    assert amounts["small"] < 1.0 and amounts["big"] < 1.0
    kept = sum(round((1 - amounts[n]) * w.numel()) for n, w in weights.items())
    assert kept == keep_count(64 + 4096, 0.98)


def test_masks_from_amounts_exact_counts():
    torch.manual_seed(0)
    model = SmallCNN()
    names = prunable_weights(model)
    total = sum(model.get_parameter(n).numel() for n in names)
    for allocator in ("global", "lamp", "erk", "uniform"):
        masks = masks_from_amounts(model, names, allocator, 0.9)
        assert abs(sum(int(masks[n].sum()) for n in names) - keep_count(total, 0.9)) <= len(names)
        if allocator == "lamp":
            assert all(int(masks[n].sum()) > 0 for n in names)


# -------------------------------------------------------------------- lottery family
def _digits_trainer(x, y, epochs=2):
    def train(model, masks, seed):
        train_masked(model, classification_loss, minibatches((x, y), 64, epochs, seed), masks, lr=3e-3)
    return train


@pytest.fixture(scope="module")
def digits():
    return digits_split()


def test_prune_survivors_removes_the_fraction_of_survivors():
    torch.manual_seed(0)
    model = nn.Linear(20, 10)
    masks = MaskSet({"weight": torch.rand(10, 20) > 0.5})
    kept = int(masks["weight"].sum())
    new = prune_survivors(model, masks, 0.25)
    assert int(new["weight"].sum()) == keep_count(200, 1 - kept * 0.75 / 200)
    assert not (new["weight"] & ~masks["weight"]).any()


def test_imp_density_after_k_cycles(digits):
    x, y, xt, yt = digits
    torch.manual_seed(0)
    model = SmallCNN()
    names = prunable_weights(model)
    init = copy.deepcopy(model.state_dict())
    result = imp(model, names, _digits_trainer(x, y, epochs=1), cycles=3, rate=0.2)
    total = sum(model.get_parameter(n).numel() for n in names)
    assert [h["density"] for h in result.history] == pytest.approx([1.0, 0.8, 0.64, 0.512], abs=2 / total)
    # the last cycle restarted from the rewind point with the final mask
    assert all(((model.get_parameter(n) == 0) | result.masks[n]).all() for n in names)
    assert not torch.equal(model.state_dict()["fc.weight"], init["fc.weight"] * result.masks["fc.weight"])


def test_swamp_average_keeps_the_mask_and_reestimates_batch_norm(digits):
    x, y, xt, yt = digits
    torch.manual_seed(0)
    model = SmallCNN()
    names = prunable_weights(model)
    result = swamp(model, names, _digits_trainer(x, y, epochs=1), cycles=1, particles=3, rate=0.5,
                   bn_data=[x[:256]])
    for n in names:
        assert (result.model.get_parameter(n)[~result.masks[n]] == 0).all()
    bn = result.model.features[1]
    with torch.no_grad():
        h = result.model.features[0](x[:256])
    assert torch.allclose(bn.running_mean, h.mean((0, 2, 3)), atol=1e-4)  # recomputed on bn_data


def test_average_weights_is_the_mean():
    a, b = nn.Linear(3, 2), nn.Linear(3, 2)
    avg = average_weights([a, b])
    assert torch.allclose(avg.weight, (a.weight + b.weight) / 2)


def test_colt_shares_one_mask_and_density_falls_fast_enough(digits):
    torch.manual_seed(0)
    low, high = digits_split(classes=range(5)), digits_split(classes=range(5, 10))
    models = [SmallCNN(5), SmallCNN(5)]
    names = prunable_weights(models[0], exclude=("head",))
    trainers = [_digits_trainer(low[0], low[1], 1), _digits_trainer(high[0], high[1], 1)]
    models, masks, history = colt(models, names, lambda i, m, k, s: trainers[i](m, k, s), rounds=3, rate=0.15)
    for k, h in enumerate(history):
        assert h["density"] <= 0.85**k + 1e-9
    for n in names:
        for m in models:
            assert (m.get_parameter(n)[~masks[n]] == 0).all()  # both models hold the one mask


# ------------------------------------------------------------------------ SquareHead
def test_square_head_zero_for_equal_features_and_scale_invariant():
    torch.manual_seed(0)
    t = [torch.randn(16, 32, 32), torch.randn(16, 32, 32) * 100]
    assert float(square_head_loss(t, t)) == 0.0
    s = [x + 0.1 * x.std() * torch.randn_like(x) for x in t]  # the same relative error in each layer
    base = square_head_loss(s, t)
    assert float(square_head_loss([3 * x for x in s], [3 * x for x in t])) == pytest.approx(float(base), rel=1e-5)
    # each layer counts O(1) (about 0.01 here): the x100 layer does not dominate
    per_layer = [float(square_head_loss([a], [b])) for a, b in zip(s, t)]
    assert per_layer == pytest.approx([0.01, 0.01], rel=0.05)


def test_square_head_by_hand_and_ignores_padding():
    t = [torch.tensor([[[1.0, 1.0], [2.0, 2.0]]])]  # (batch 1, seq 2, dim 2)
    s = [torch.tensor([[[2.0, 1.0], [9.0, -9.0]]])]
    valid = torch.tensor([[True, False]])  # the second position is padding
    assert float(square_head_loss(s, t, valid)) == pytest.approx((1 / 2) / 1.0)
    s_other_padding = [torch.tensor([[[2.0, 1.0], [0.0, 0.0]]])]
    assert float(square_head_loss(s_other_padding, t, valid)) == float(square_head_loss(s, t, valid))


def test_sparse_finetune_keeps_the_mask_and_uses_block_outputs():
    torch.manual_seed(0)
    tokens, valid = markov_text(128, seed=0)
    teacher = TinyLM()
    student = copy.deepcopy(teacher)
    names = [n for n, p in student.named_parameters() if n.startswith("layers") and "weight" in n and p.dim() >= 2]
    masks = masks_from_amounts(student, names, "uniform", 0.75)
    masks.apply(student)
    with capture_outputs(student, student.block_names()) as feats:
        student(tokens[:2])
        assert [f.shape for f in feats()] == [(2, tokens.shape[1], 64)] * 2
    sparse_finetune(student, teacher, student.block_names(), masks, minibatches((tokens, valid), 32, 1, 0),
                    task_loss=lambda out, b: lm_loss(out, b[0], b[1]), forward=lambda m, b: m(b[0]),
                    valid=lambda b: b[1])
    for n in names:
        assert (student.get_parameter(n)[~masks[n]] == 0).all()
        assert (student.get_parameter(n)[masks[n]] != 0).all()


# ---------------------------------------------------------------------- transfer
def test_full_finetune_keeps_the_mask_and_probe_trains_only_the_head(digits):
    torch.manual_seed(0)
    src, dst = digits_split(classes=range(5)), digits_split(classes=range(5, 10))
    model = SmallCNN(5)
    names = prunable_weights(model, exclude=("head",))
    masks = masks_from_amounts(model, names, "global", 0.8)
    _digits_trainer(src[0], src[1], 1)(model, masks, 0)
    before = copy.deepcopy(model.state_dict())
    head = nn.Linear(64, 5)
    linear_probe(model, head, minibatches((dst[0], dst[1]), 64, 1, 0), features=model.embed)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # backbone frozen
    model.head = head
    full_finetune(model, masks, classification_loss, minibatches((dst[0], dst[1]), 64, 1, 0))
    for n in names:
        assert torch.equal(model.get_parameter(n) != 0, masks[n])


# ----------------------------------------------------------------- component-wise
def test_per_component_sparsities_are_exact():
    torch.manual_seed(0)
    lm = TinyLM()
    targets = {"layers.0": 0.5, "layers.1": 0.8, "head": 0.25}
    prune_components(lm, targets)
    for prefix, s in targets.items():
        for n in component_weights(lm, prefix):
            w = lm.get_parameter(n)
            assert int((w == 0).sum()) == w.numel() - keep_count(w.numel(), s)
    assert set(component_weights(lm, "layers.*.linear*")) == {f"layers.{i}.linear{j}.weight"
                                                               for i in (0, 1) for j in (1, 2)}
    with pytest.raises(ValueError, match="no prunable weights"):
        component_weights(lm, "decoder")


def test_component_sweep_finds_the_collapse():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 4))
    x = torch.randn(64, 4)
    reference = model(x).detach()

    def quality(m):  # 1 at the dense model, falls as outputs drift
        with torch.no_grad():
            return float(1.0 / (1.0 + ((m(x) - reference) ** 2).mean() / (reference**2).mean()))

    result = component_sweep(model, ["0", "1"], [0.25, 0.5, 0.75, 1.0], quality, collapse_fraction=0.9)
    assert result["dense"] == 1.0 and len(result["rows"]) == 8
    for c in ("0", "1"):
        rows = [r for r in result["rows"] if r["component"] == c]
        assert rows[-1]["quality"] < rows[0]["quality"]  # fully pruned is worse than 25%
        first_bad = next((r["sparsity"] for r in rows if r["quality"] < 0.9), None)
        assert result["collapse"][c] == first_bad


def test_methods_accept_a_hugging_face_model():
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(0)
    config = transformers.GPT2Config(vocab_size=32, n_positions=32, n_embd=32, n_layer=2, n_head=4,
                                     bos_token_id=1, eos_token_id=1)
    teacher = transformers.GPT2LMHeadModel(config)  # built from a config: no download
    student = copy.deepcopy(teacher)
    targets = {"transformer.h.*.attn.*": 0.5, "transformer.h.*.mlp.*": 0.75}
    masks = prune_components(student, targets)
    for pattern, s in targets.items():
        for n in component_weights(student, pattern):
            assert int((student.get_parameter(n) == 0).sum()) == student.get_parameter(n).numel() - keep_count(
                student.get_parameter(n).numel(), s)
    blocks = ["transformer.h.0", "transformer.h.1"]
    tokens = torch.randint(0, 32, (4, 16))
    valid = torch.ones(4, 16, dtype=torch.bool)
    sparse_finetune(student, teacher, blocks, masks, [(tokens, valid)] * 3, task_loss=lambda out, b: out.loss,
                    forward=lambda m, b: m(b[0], labels=b[0]), valid=lambda b: b[1])
    assert all((student.get_parameter(n)[~masks[n]] == 0).all() for n in masks)
    with capture_outputs(student, blocks) as s, capture_outputs(teacher, blocks) as t:
        with torch.no_grad():
            student(tokens), teacher(tokens)
        assert float(square_head_loss(s(), t(), valid)) > 0
