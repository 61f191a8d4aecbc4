"""neurosim Memoria against the paper's package (memoria-pytorch), batch size 1."""
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the reference comparison needs torch (extra 'reference')")
pytest.importorskip("memoria", reason="the reference comparison needs memoria-pytorch (extra 'reference')")

from neurosim.cli import main  # noqa: E402
from neurosim.protocols.memoria_reference import compare_stream  # noqa: E402


@pytest.mark.parametrize("setting, steps", [("lm-50", 30), ("classification", 8)])
def test_reference_compatible_options_reproduce_the_reference(setting, steps):
    records = compare_stream(setting, "reference-shared", steps, 8, 1.0,
                             np.random.SeedSequence(11))
    with_ltm = [r for r in records if r["ltm_nonempty"]]
    assert len(with_ltm) >= steps // 2 - 1
    assert all(r["agree"] for r in records), [r["step"] for r in records if not r["agree"]]
    assert [r["n_ltm_ref"] for r in records] == [r["n_ltm_neurosim"] for r in records]


def test_the_reference_disagrees_with_itself_under_other_random_numbers():
    records = compare_stream("classification", "reference-self", 6, 8, 1.0,
                             np.random.SeedSequence(11))
    with_ltm = [r["agree"] for r in records if r["ltm_nonempty"]]
    assert with_ltm and not all(with_ltm)


def test_paper_options_differ_from_the_reference():
    records = compare_stream("lm-50", "paper", 20, 8, 1.0, np.random.SeedSequence(11))
    assert np.mean([r["agree"] for r in records if r["ltm_nonempty"]]) < 0.5
    # before any LTM exists the reference reminds index 0 (the oldest engram); the paper does not
    early = [r for r in records if r["ref_ltm_empty"] and r["step"] > 0]
    assert all(r["n_rem_ref"] - r["n_rem_neurosim"] in (0, 1) for r in early)
    assert any(r["n_rem_ref"] == r["n_rem_neurosim"] + 1 and not r["agree"] for r in early)


def test_cli_run_writes_results(tmp_path):
    out = tmp_path / "ref"
    code = main(["run", "memoria-reference", "--set", "steps=12", "--set", "setting=lm-50",
                 "--set", "variant=reference-shared", "--out", str(out), "--quiet"])
    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["headline"]["agree_ltm[lm-50|reference-shared]"] == 1.0
    assert (out / "figure.png").stat().st_size > 0


def test_cli_rejects_unknown_variant(tmp_path, capsys):
    code = main(["run", "memoria-reference", "--set", "variant=exact", "--out", str(tmp_path)])
    assert code == 2
    assert "variant" in capsys.readouterr().err


def test_reference_batch_quirk_local_ltm_index_used_as_global():
    """memoria-pytorch 1.1.0, batch > 1: ``_select_final_ltms`` looks the *local* LTM
    positions up in the *global* engram array. When a batch element carries padding
    (NULL engrams at the front, after elements lost different numbers of engrams) and
    the padding differs from the LTM list's, the reminded LTM index points elsewhere.
    With batch size 1 there is no padding and LTM engrams are the oldest, so local ==
    global; that is why neurosim compares with batch size 1."""
    from memoria import Engrams, Memoria

    null, ltm, stm, wm = 0, 3, 2, 1

    def run(types, data, counts):
        model = Memoria(num_reminded_stm=1, stm_capacity=8, ltm_search_depth=0,
                        initial_lifespan=5, num_final_ltms=1)
        model.engrams = Engrams(torch.tensor(data, dtype=torch.float32),
                                induce_counts=torch.tensor(counts, dtype=torch.int32),
                                engrams_types=torch.tensor(types, dtype=torch.uint8),
                                lifespan=torch.ones(len(types), len(types[0])))
        return model.remind()[1]

    # element 0: two padding engrams, then LTM a (global 2), STM s (3), WM w (4);
    # element 1: LTM b, STM t1 t2 t3, WM x (no padding)
    types = [[null, null, ltm, stm, wm], [ltm, stm, stm, stm, wm]]
    data = [[[0.0], [0.0], [1.0], [1.1], [1.2]], [[5.0], [5.1], [9.0], [9.0], [5.2]]]
    counts = np.zeros((2, 5, 5), dtype=int)
    counts[0, 2, 3] = counts[0, 3, 2] = 1  # s and a fired together
    counts[1, 0, 1] = counts[1, 1, 0] = 1  # t1 and b fired together
    reminded = run(types, data, counts)
    assert 3 in reminded[0].tolist()        # STM s is reminded
    assert 2 not in reminded[0].tolist()    # but LTM a is not ...
    assert 0 in reminded[0].tolist()        # ... a padding engram (global 0 = local LTM 0) is
    single = run([[ltm, stm, wm]], [[[1.0], [1.1], [1.2]]], counts[:1, 2:, 2:])
    assert sorted(single[0].tolist()) == [0, 1]  # batch size 1: a (global 0) and s


def test_variant_options():
    from neurosim.protocols.memoria_reference import VARIANTS, shares_ties, variant_params

    options = {v: (p.ranking, p.search, p.forget_order)
               for v in VARIANTS for p in [variant_params("lm-50", v)]}
    assert options["paper"] == ("exp", "paper", "paper")
    assert options["ranking"] == ("sq_l2", "paper", "paper")
    assert options["reference"] == options["reference-shared"] == ("sq_l2", "reference", "reference")
    assert options["shared-paper-ranking"] == ("exp", "reference", "reference")
    assert options["shared-paper-forget"] == ("sq_l2", "reference", "paper")
    assert options["reference-self"] == options["reference"]
    assert [v for v in VARIANTS if shares_ties(v)] == ["reference-shared", "shared-paper-ranking",
                                                      "shared-paper-forget"]
