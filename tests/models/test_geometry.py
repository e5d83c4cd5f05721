import numpy as np

from econflow.models import geometry


def test_layout_places_every_trigger_cell_once():
    pixel_tc, used = geometry.econt_layout()
    assert used.sum() == 48
    assert sorted(pixel_tc[used]) == list(range(48))


def test_nearest_neighbours_are_one_tc_pitch_apart():
    d = geometry.tc_distances()
    assert np.allclose(d, d.T)
    nearest = np.sort(d, axis=1)[:, 1]
    # 2.4168 cm between TC centres is two small-cell units; across chip-block boundaries
    # the cells sit a little closer.
    assert np.all((nearest > 1.75) & (nearest < 2.0 + 1e-4))
    assert np.isclose(nearest, 2.0, atol=1e-4).sum() >= 24


def test_image_and_roc_blocks_keep_values():
    values = np.arange(48, dtype=float)[None] + 1
    image = geometry.to_image(values)
    assert image.shape == (1, 8, 8, 1)
    assert image.sum() == values.sum()
    blocks = geometry.to_roc_blocks(values)
    assert blocks.shape == (1, 4, 4, 3)
    assert blocks[0, 1, 2, 2] == values[0, 16 * 2 + 4 * 1 + 2]


def test_block_neighbours_are_hexagon_neighbours():
    d = geometry.tc_distances()
    for roc in range(3):
        for i in range(4):
            for j in range(3):
                a = 16 * roc + 4 * i + j
                assert abs(d[a, a + 1] - 2.0) < 1e-4


def test_boundary_windows_are_compact_and_straddle_two_chips():
    windows = geometry.boundary_windows()
    assert windows.shape == (9, 4)
    assert len({tuple(sorted(w)) for w in windows}) == 9
    d = geometry.tc_distances()
    for cells in windows:
        assert len(set(cells // 16)) == 2
        # four neighbouring cells: no two further apart than two cell pitches
        assert d[np.ix_(cells, cells)].max() < 4.0
    chips = sorted(tuple(sorted(set(w // 16))) for w in windows)
    assert chips == [(0, 1)] * 3 + [(0, 2)] * 3 + [(1, 2)] * 3
