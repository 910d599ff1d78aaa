"""funnel.retrieval from Python: HNSW build/add/search/filter/remove/save/load, exact search; the
same seed gives C++'s results bit for bit."""

import numpy as np
import pytest

import funnel
from funnel import retrieval

NONE = np.iinfo(np.uint64).max


@pytest.fixture(scope="module")
def vectors():
    rng = np.random.default_rng(11)
    return rng.normal(size=(2000, 16)).astype(np.float32)


@pytest.fixture(scope="module")
def index(vectors):
    ix = retrieval.HnswIndex(16, metric="l2", M=12, ef_construction=100, seed=5)
    ix.add_batch(np.arange(len(vectors), dtype=np.uint64), vectors)
    return ix


def test_search_finds_itself_and_agrees_with_exact(index, vectors):
    ids, scores = index.search(vectors[3], 5, ef=64)
    assert ids[0] == 3 and scores[0] == 0.0 and np.all(np.diff(scores) <= 0)
    exact = retrieval.ExactIndex(np.arange(len(vectors)), vectors)
    eids, escores = exact.search(vectors[3], 5)
    assert list(eids) == list(ids)
    assert np.allclose(escores, scores, rtol=1e-6)  # GEMM vs distance kernel: last bits may differ


def test_batch_filter_and_padding(index, vectors):
    ids, scores = index.search_batch(vectors[:4], 3, allowed=[10, 20])
    assert ids.shape == (4, 3) and ids.dtype == np.uint64 and scores.dtype == np.float32
    assert set(ids[:, :2].ravel()) <= {10, 20}
    assert np.all(ids[:, 2] == NONE) and np.all(np.isnan(scores[:, 2]))
    for strategy in ("graph", "scan"):
        one, _ = index.search(vectors[0], 2, allowed=np.array([10, 20]), strategy=strategy)
        assert sorted(one) == [10, 20]


def test_add_remove_contains(vectors):
    ix = retrieval.HnswIndex(16, seed=1)
    ix.add(7, vectors[0])
    ix.add(8, vectors[1])
    assert 7 in ix and len(ix) == 2
    ix.remove(7)
    assert 7 not in ix and len(ix) == 1 and ix.num_nodes == 2
    with pytest.raises(funnel.NotFound):
        ix.remove(7)
    with pytest.raises(funnel.DimensionMismatch):
        ix.add(9, vectors[0][:3])
    assert np.array_equal(ix.vector(8), vectors[1])


def test_save_load_serialize(index, vectors, tmp_path):
    index.save(tmp_path / "i.hnsw")
    loaded = retrieval.HnswIndex.load(tmp_path / "i.hnsw")
    again = retrieval.HnswIndex.deserialize(index.serialize())
    for other in (loaded, again):
        a = index.search_batch(vectors[:20], 10, ef=50)
        b = other.search_batch(vectors[:20], 10, ef=50)
        assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    with pytest.raises(funnel.ParseError):
        retrieval.HnswIndex.deserialize(b"not an index")


def test_quantized_and_cosine(vectors):
    ix = retrieval.HnswIndex(16, metric="cosine", seed=2)
    ix.add_batch(np.arange(500, dtype=np.uint64), vectors[:500])
    ix.quantize()
    assert ix.quantized and ix.metric == "cosine"
    ids, scores = ix.search(vectors[9], 1, ef=50)
    assert ids[0] == 9 and abs(scores[0] - 1.0) < 1e-5


def test_same_seed_same_results_as_cpp(vectors, reference, tmp_path):
    base, queries = vectors[:1500], vectors[1500:1530]
    base.tofile(tmp_path / "v.f32")
    queries.tofile(tmp_path / "q.f32")
    ix = retrieval.HnswIndex(16, metric="inner_product", seed=42)
    ix.add_batch(np.arange(1500, dtype=np.uint64), base)
    ids, scores = ix.search_batch(queries, 10)
    lines = reference("hnsw", tmp_path / "v.f32", 16, tmp_path / "q.f32", 10, 42, "inner_product")
    cpp_ids = np.array([[int(x.split(":")[0]) for x in line] for line in lines], dtype=np.uint64)
    cpp_scores = np.array([[float.fromhex(x.split(":")[1]) for x in line] for line in lines],
                          dtype=np.float32)
    assert np.array_equal(cpp_ids, ids)
    assert np.array_equal(cpp_scores.view(np.uint32), scores.view(np.uint32))


def test_invalid_options():
    with pytest.raises(funnel.InvalidArgument):
        retrieval.HnswIndex(0)
    with pytest.raises(funnel.InvalidArgument):
        retrieval.HnswIndex(4, metric="manhattan")
