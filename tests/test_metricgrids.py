"""MetricGrids: hashing, metric transforms, interpolation, and the image-fitting claim."""

import pytest
import torch

from marl_prune.pruning import compute_masks, keep_count, prunable_weights
from marl_prune.testbeds.metricgrids import (
    METRICS,
    HashGrid,
    MetricGrids,
    fit,
    image_coordinates,
    metric_transform,
    parameter_count,
    psnr,
    sample_image,
    torus_sdf,
    torus_surface,
)


def test_hash_is_deterministic_and_in_range():
    grid = HashGrid(dim=3, log2_table=10)
    vertices = torch.randint(-5000, 5000, (10000, 3))
    a, b = grid.hash(vertices), HashGrid(dim=3, log2_table=10).hash(vertices)
    assert torch.equal(a, b)
    assert int(a.min()) >= 0 and int(a.max()) < 2**10
    # by hand: (x * 1) xor (y * 2654435761) mod 1024
    v = torch.tensor([[3, 7]])
    assert int(HashGrid(dim=2, log2_table=10).hash(v)) == (3 ^ (7 * 2654435761)) % 1024
    assert len(set(a.tolist())) > 900  # spreads over the table


@pytest.mark.parametrize("name", list(METRICS))
def test_metric_transforms_map_the_domain_onto_their_range(name):
    low, high = METRICS[name][1]
    p = torch.linspace(-1, 1, 1001)
    y = metric_transform(name, p)
    assert float(y.min()) >= low - 1e-6 and float(y.max()) <= high + 1e-6
    ends = metric_transform(name, torch.tensor([-1.0, 1.0]))
    assert ends.tolist() == pytest.approx([low, high], abs=1e-6)
    assert (y[1:] >= y[:-1]).all()  # monotone: no two points fold onto one


def test_interpolation_is_exact_at_vertices_and_linear_between():
    grid = HashGrid(dim=2, levels=1, features=1, log2_table=8, base_resolution=4, max_resolution=4)
    with torch.no_grad():
        grid.table.normal_()
    vertex = torch.tensor([[2.0, 1.0]])  # (2, 1) / 4 scaled by resolution 4 is the vertex (2, 1)
    index = grid.hash(torch.tensor([[2, 1]]))
    assert torch.allclose(grid(vertex / 4), grid.table[0, index])
    a, b = grid(torch.tensor([[2.0, 1.0]]) / 4), grid(torch.tensor([[2.25, 1.0]]) / 4)
    mid = grid(torch.tensor([[2.125, 1.0]]) / 4)
    assert torch.allclose(mid, (a + b) / 2, atol=1e-6)


def test_metricgrids_beat_the_linear_grid_only_at_equal_parameters():
    pytest.importorskip("sklearn")
    target, coords = sample_image(64), image_coordinates(64, 64)
    scores = {}
    for metrics in (("linear", "sine", "arcsin"), ("linear",)):
        torch.manual_seed(0)
        model = MetricGrids(metrics=metrics)
        scores[metrics] = (parameter_count(model), psnr(fit(model, coords, target, steps=300)(coords).detach(), target))
    (params_mg, psnr_mg), (params_lin, psnr_lin) = scores.values()
    assert params_mg == params_lin  # the table is shared: extra metrics cost no parameters
    assert psnr_mg > psnr_lin > 30.0


def test_decoder_pruning_uses_the_shared_masks():
    torch.manual_seed(0)
    model = MetricGrids()
    names = prunable_weights(model, exclude=("grid",))
    assert names and not any(n.startswith("grid") for n in names)
    masks = compute_masks(model, names, 0.75)
    total = sum(model.get_parameter(n).numel() for n in names)
    assert sum(int(masks[n].sum()) for n in names) == keep_count(total, 0.75)


def test_torus_surface_is_on_the_zero_level_set():
    assert float(torus_sdf(torus_surface(500)).abs().max()) < 1e-5
    assert float(torus_sdf(torch.zeros(1, 3))) == pytest.approx(0.5 - 0.2)
