// funnel.retrieval: HnswIndex (build, add, remove, filtered and batched search, quantize,
// save/load) and ExactIndex. Results are numpy arrays: ids (uint64) and scores (float32), best
// first; a batch pads rows with fewer than k results with id 2**64 - 1 and score NaN.
#include <funnel/retrieval/exact_index.hpp>
#include <funnel/retrieval/hnsw_index.hpp>

#include <limits>
#include <optional>
#include <pybind11/stl.h>
#include <string>
#include <tuple>
#include <vector>

#include "bindings.hpp"

namespace funnel::python {

namespace {

namespace fr = retrieval;
constexpr std::string_view where_hnsw = "retrieval.hnsw_index";
constexpr std::string_view where_exact = "retrieval.exact_index";
using id_result = py::array_t<std::uint64_t>;
using result_pair = std::tuple<id_result, py::array_t<float>>;

/// The allow-list of `allowed` (None = everything allowed).
std::optional<fr::allow_list> allow_list_of(const py::object& allowed) {
  if (allowed.is_none()) return std::nullopt;
  const id_array ids(allowed);
  return fr::allow_list(as_span(ids, "retrieval.filter"));
}

result_pair one_result(const candidate_list& found) {
  id_result ids(static_cast<py::ssize_t>(found.size()));
  auto scores = new_array(found.size());
  for (std::size_t i = 0; i < found.size(); ++i) {
    ids.mutable_at(static_cast<py::ssize_t>(i)) = found[i].id;
    scores.mutable_at(static_cast<py::ssize_t>(i)) = found[i].score;
  }
  return {std::move(ids), std::move(scores)};
}

result_pair batch_result(const std::vector<candidate_list>& found, std::size_t k) {
  id_result ids({static_cast<py::ssize_t>(found.size()), static_cast<py::ssize_t>(k)});
  auto scores = new_array(found.size(), k);
  auto* id_out = ids.mutable_data();
  auto* score_out = scores.mutable_data();
  for (std::size_t q = 0; q < found.size(); ++q) {
    for (std::size_t i = 0; i < k; ++i) {
      const bool has = i < found[q].size();
      id_out[q * k + i] = has ? found[q][i].id : std::numeric_limits<std::uint64_t>::max();
      score_out[q * k + i] = has ? found[q][i].score : std::numeric_limits<float>::quiet_NaN();
    }
  }
  return {std::move(ids), std::move(scores)};
}

fr::search_options search_options_of(std::size_t ef, const std::string& strategy,
                                     bool quantized_walk) {
  fr::search_options o;
  o.ef = ef;
  o.strategy = pick<fr::filter_strategy>(strategy, where_hnsw, "strategy");
  o.quantized_walk = quantized_walk;
  return o;
}

fr::hnsw_index make_hnsw(std::size_t dim, const std::string& metric, std::size_t m,
                         std::size_t ef_construction, std::size_t capacity, std::uint64_t seed) {
  fr::hnsw_options o;
  o.dim = dim;
  o.metric = pick<fr::metric>(metric, where_hnsw, "metric");
  o.M = m;
  o.ef_construction = ef_construction;
  o.capacity = capacity;
  o.seed = seed;
  return fr::hnsw_index(o);
}

result_pair hnsw_search(const fr::hnsw_index& index, const float_array& query, std::size_t k,
                        std::size_t ef, const std::string& strategy, const py::object& allowed,
                        bool quantized_walk) {
  const auto options = search_options_of(ef, strategy, quantized_walk);
  const auto list = allow_list_of(allowed);
  const auto q = as_span(query, where_hnsw);
  candidate_list found;
  {
    py::gil_scoped_release nogil;
    found = index.search(q, k, options, list ? fr::filter(*list) : fr::filter{});
  }
  return one_result(found);
}

result_pair hnsw_search_batch(const fr::hnsw_index& index, const float_array& queries,
                              std::size_t k, std::size_t ef, const std::string& strategy,
                              const py::object& allowed, bool quantized_walk) {
  const auto options = search_options_of(ef, strategy, quantized_walk);
  const auto list = allow_list_of(allowed);
  const auto q = as_matrix(queries, where_hnsw);
  std::vector<candidate_list> found;
  {
    py::gil_scoped_release nogil;
    found = index.search_batch(q, k, options, list ? fr::filter(*list) : fr::filter{});
  }
  return batch_result(found, k);
}

void add_batch(fr::hnsw_index& index, const id_array& ids, const float_array& vectors,
               std::size_t threads) {
  const auto id_span = as_span(ids, where_hnsw);
  const auto rows = as_matrix(vectors, where_hnsw);
  py::gil_scoped_release nogil;
  index.add_batch(id_span, rows, threads);
}

constexpr const char* search_doc =
    "The k nearest items to `query` (1-D float32), best first, as (ids uint64, scores float32). "
    "ef: candidate list size (0 = default_ef); allowed: ids to restrict to (None = all); "
    "strategy: 'automatic', 'graph' or 'scan' for filtered queries; quantized_walk: walk on the "
    "8-bit codes after quantize(). Releases the GIL.";

void bind_hnsw(py::module_& m) {
  py::class_<fr::hnsw_index>(
      m, "HnswIndex",
      "An HNSW approximate nearest-neighbour index keyed by 64-bit ids (funnel::retrieval::"
      "hnsw_index): metric 'l2' (score = -squared distance), 'inner_product' or 'cosine'.")
      .def(py::init(&make_hnsw), py::arg("dim"), py::arg("metric") = "l2", py::arg("M") = 16,
           py::arg("ef_construction") = 200, py::arg("capacity") = 0,
           py::arg("seed") = std::uint64_t{100},
           "An empty index. Raises InvalidArgument on dim 0, M outside [2, 10000], "
           "ef_construction 0.")
      .def(
          "add",
          [](fr::hnsw_index& ix, std::uint64_t id, const float_array& v) {
            ix.add(id, as_span(v, where_hnsw));
          },
          py::arg("id"), py::arg("vector"), "Inserts (or replaces) `vector` under `id`.")
      .def("add_batch", &add_batch, py::arg("ids"), py::arg("vectors"), py::arg("threads") = 1,
           "Inserts row i of `vectors` under ids[i] on `threads` threads (1: deterministic for "
           "the seed). Nothing is inserted if validation fails. Releases the GIL.")
      .def("remove", &fr::hnsw_index::remove, py::arg("id"), "Deletes `id`. Raises NotFound.")
      .def("__contains__", &fr::hnsw_index::contains, py::arg("id"), "Whether `id` is live.")
      .def("__len__", &fr::hnsw_index::size, "Live (not deleted) items.")
      .def(
          "vector",
          [](const fr::hnsw_index& ix, std::uint64_t id) {
            const auto v = ix.vector(id);
            return py::array_t<float>(static_cast<py::ssize_t>(v.size()), v.data());
          },
          py::arg("id"), "The stored vector of `id` (normalized for cosine). Raises NotFound.")
      .def("reserve", &fr::hnsw_index::reserve, py::arg("capacity"), "Grows the node capacity.")
      .def_property_readonly("num_nodes", &fr::hnsw_index::num_nodes,
                             "Graph nodes including deleted ones.")
      .def_property_readonly("capacity", &fr::hnsw_index::capacity, "Nodes before reallocation.")
      .def_property_readonly("bytes_per_node", &fr::hnsw_index::bytes_per_node,
                             "Bytes per stored node at level 0.")
      .def_property_readonly(
          "dim", [](const fr::hnsw_index& ix) { return ix.options().dim; }, "Vector dimension.")
      .def_property_readonly(
          "metric",
          [](const fr::hnsw_index& ix) { return std::string(to_string(ix.options().metric)); },
          "'l2', 'inner_product' or 'cosine'.")
      .def_property("default_ef", &fr::hnsw_index::default_ef, &fr::hnsw_index::set_default_ef,
                    "The ef of a query that passes ef=0 (initially 10).")
      .def("quantize", &fr::hnsw_index::quantize,
           "Fits 8-bit codes to the live vectors; searches then walk the graph on the codes and "
           "re-score exactly.")
      .def_property_readonly("quantized", &fr::hnsw_index::quantized, "Whether quantize() ran.")
      .def("search", &hnsw_search, py::arg("query"), py::arg("k"), py::arg("ef") = 0,
           py::arg("strategy") = "automatic", py::arg("allowed") = py::none(),
           py::arg("quantized_walk") = true, search_doc)
      .def("search_batch", &hnsw_search_batch, py::arg("queries"), py::arg("k"), py::arg("ef") = 0,
           py::arg("strategy") = "automatic", py::arg("allowed") = py::none(),
           py::arg("quantized_walk") = true,
           "search() for every row of `queries`: (ids (n, k) uint64, scores (n, k) float32); a "
           "row with fewer than k results is padded with id 2**64-1 and score NaN.")
      .def(
          "save", [](const fr::hnsw_index& ix, const py::handle& p) { ix.save(path_of(p)); },
          py::arg("path"), "Writes the index atomically (C++ hnsw_index::load reads it).")
      .def_static(
          "load", [](const py::handle& p) { return fr::hnsw_index::load(path_of(p)); },
          py::arg("path"), "Loads a saved index. Raises IoError, ParseError, Unsupported.")
      .def(
          "serialize", [](const fr::hnsw_index& ix) { return py::bytes(ix.serialize()); },
          "The index as bytes in funnel's format.")
      .def_static(
          "deserialize",
          [](const py::bytes& b) {
            return fr::hnsw_index::deserialize(std::string_view(b), "<python bytes>");
          },
          py::arg("data"), "An index from serialize()'s bytes. Raises ParseError.")
      .def("__repr__", [](const fr::hnsw_index& ix) {
        return fmt::format("HnswIndex(dim={}, metric='{}', M={}, size={})", ix.options().dim,
                           to_string(ix.options().metric), ix.options().M, ix.size());
      });
}

void bind_exact(py::module_& m) {
  py::class_<fr::exact_index>(m, "ExactIndex",
                              "Brute-force nearest neighbours (ground truth, small catalogs); "
                              "scores as HnswIndex's.")
      .def(py::init([](const id_array& ids, const float_array& vectors, const std::string& metric) {
             return fr::exact_index(as_span(ids, where_exact), as_matrix(vectors, where_exact),
                                    pick<fr::metric>(metric, where_exact, "metric"));
           }),
           py::arg("ids"), py::arg("vectors"), py::arg("metric") = "l2",
           "An index of row i of `vectors` under ids[i].")
      .def(
          "add",
          [](fr::exact_index& ix, std::uint64_t id, const float_array& v) {
            ix.add(id, as_span(v, where_exact));
          },
          py::arg("id"), py::arg("vector"), "Inserts (or replaces) `vector` under `id`.")
      .def("remove", &fr::exact_index::remove, py::arg("id"), "Deletes `id`. Raises NotFound.")
      .def("__contains__", &fr::exact_index::contains, py::arg("id"), "Whether `id` is in.")
      .def("__len__", &fr::exact_index::size, "Number of items.")
      .def_property_readonly("dim", &fr::exact_index::dim, "Vector dimension.")
      .def(
          "search",
          [](const fr::exact_index& ix, const float_array& q, std::size_t k,
             const py::object& allowed) {
            const auto list = allow_list_of(allowed);
            const auto query = as_span(q, where_exact);
            candidate_list found;
            {
              py::gil_scoped_release nogil;
              found = ix.search(query, k, list ? fr::filter(*list) : fr::filter{});
            }
            return one_result(found);
          },
          py::arg("query"), py::arg("k"), py::arg("allowed") = py::none(),
          "The exact k best items: (ids, scores), best first.")
      .def(
          "search_batch",
          [](const fr::exact_index& ix, const float_array& q, std::size_t k,
             const py::object& allowed) {
            const auto list = allow_list_of(allowed);
            const auto queries = as_matrix(q, where_exact);
            std::vector<candidate_list> found;
            {
              py::gil_scoped_release nogil;
              found = ix.search_batch(queries, k, list ? fr::filter(*list) : fr::filter{});
            }
            return batch_result(found, k);
          },
          py::arg("queries"), py::arg("k"), py::arg("allowed") = py::none(),
          "search() for every row: (ids (n, k), scores (n, k)), padded as HnswIndex's.");
}

}  // namespace

void bind_retrieval(py::module_& m) {
  bind_hnsw(m);
  bind_exact(m);
}

}  // namespace funnel::python
