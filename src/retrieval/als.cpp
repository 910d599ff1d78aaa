#include <funnel/core/error.hpp>
#include <funnel/core/file.hpp>
#include <funnel/core/random.hpp>
#include <funnel/core/serialize.hpp>
#include <funnel/core/timer.hpp>
#include <funnel/retrieval/als.hpp>

#include <Eigen/Cholesky>
#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <thread>

#include "core/json_document.hpp"

namespace funnel::retrieval {

// The document this file writes and reads, with the type strings earlier releases wrote.
namespace {
constexpr funnel::detail::document_kind als_document{"funnel.retrieval.als_model", 1, "als_model"};

csr_matrix transpose(const csr_matrix& m, std::size_t rows_of_result) {
  csr_matrix t;
  t.cols = m.rows();
  t.row_ptr.assign(rows_of_result + 1, 0);
  for (const auto c : m.indices) ++t.row_ptr[c + 1];
  for (std::size_t i = 1; i < t.row_ptr.size(); ++i) t.row_ptr[i] += t.row_ptr[i - 1];
  t.indices.resize(m.indices.size());
  t.values.resize(m.values.size());
  auto next = t.row_ptr;
  for (std::size_t r = 0; r < m.rows(); ++r) {
    for (std::size_t k = m.row_ptr[r]; k < m.row_ptr[r + 1]; ++k) {
      const auto dst = next[m.indices[k]]++;
      t.indices[dst] = static_cast<std::uint32_t>(r);
      t.values[dst] = m.values[k];
    }
  }
  return t;
}

/// Runs body(row) for every row in [0, n) on `threads` threads (interleaved for load balance).
template <class Body>
void parallel_rows(std::size_t n, std::size_t threads, const Body& body) {
  if (threads <= 1 || n < 64) {
    for (std::size_t r = 0; r < n; ++r) body(r);
    return;
  }
  std::vector<std::thread> pool;
  pool.reserve(threads);
  for (std::size_t t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (std::size_t r = t; r < n; r += threads) body(r);
    });
  }
  for (auto& th : pool) th.join();
}

/// Solves every row of `target` against the fixed factors (one ALS half-step).
void half_step(const csr_matrix& ratings, const matrix& fixed, matrix& target,
               const als_options& o) {
  const auto f = static_cast<Eigen::Index>(fixed.cols());
  const Eigen::MatrixXd y = fixed.view().as_eigen().cast<double>();
  Eigen::MatrixXd gram = y.transpose() * y;
  gram.diagonal().array() += o.regularization;
  const std::size_t threads =
      o.threads == 0 ? std::max(1U, std::thread::hardware_concurrency()) : o.threads;

  parallel_rows(ratings.rows(), threads, [&](std::size_t u) {
    const auto begin = ratings.row_ptr[u];
    const auto end = ratings.row_ptr[u + 1];
    Eigen::VectorXd b = Eigen::VectorXd::Zero(f);
    auto out = target.row(u);
    if (o.solver == als_solver::cholesky) {
      Eigen::MatrixXd a = gram;
      for (auto k = begin; k < end; ++k) {
        const double c = 1.0 + o.alpha * ratings.values[k];
        const auto yi = y.row(ratings.indices[k]);
        a.noalias() += (c - 1.0) * yi.transpose() * yi;
        b.noalias() += c * yi.transpose();
      }
      const Eigen::VectorXd x = a.llt().solve(b);
      for (Eigen::Index j = 0; j < f; ++j) out[j] = static_cast<float>(x(j));
      return;
    }
    // Conjugate gradient without forming A: A x = gram x + sum_i (c_i - 1) (y_i . x) y_i.
    auto apply = [&](const Eigen::VectorXd& v) {
      Eigen::VectorXd av = gram * v;
      for (auto k = begin; k < end; ++k) {
        const double c = 1.0 + o.alpha * ratings.values[k];
        const auto yi = y.row(ratings.indices[k]);
        av.noalias() += ((c - 1.0) * yi.dot(v)) * yi.transpose();
      }
      return av;
    };
    for (auto k = begin; k < end; ++k)
      b.noalias() += (1.0 + o.alpha * ratings.values[k]) * y.row(ratings.indices[k]).transpose();
    Eigen::VectorXd x(f);
    for (Eigen::Index j = 0; j < f; ++j) x(j) = out[j];
    Eigen::VectorXd r = b - apply(x);
    Eigen::VectorXd p = r;
    double rs = r.squaredNorm();
    for (std::size_t step = 0; step < o.cg_steps && rs > 1e-20; ++step) {
      const Eigen::VectorXd ap = apply(p);
      const double step_len = rs / p.dot(ap);
      x += step_len * p;
      r -= step_len * ap;
      const double rs_new = r.squaredNorm();
      p = r + (rs_new / rs) * p;
      rs = rs_new;
    }
    for (Eigen::Index j = 0; j < f; ++j) out[j] = static_cast<float>(x(j));
  });
}

/// sum_u sum_i c_ui (p_ui - x_u.y_i)^2 + lambda (|X|^2 + |Y|^2), without visiting zero entries:
/// the all-zero-preference part is x_u^T (Y^T Y) x_u, corrected on the observed entries.
double objective(const csr_matrix& ratings, const matrix& users, const matrix& items, double alpha,
                 double lambda) {
  const Eigen::MatrixXd x = users.view().as_eigen().cast<double>();
  const Eigen::MatrixXd y = items.view().as_eigen().cast<double>();
  const Eigen::MatrixXd gram = y.transpose() * y;
  double loss = (x * gram).cwiseProduct(x).sum();
  for (std::size_t u = 0; u < ratings.rows(); ++u) {
    for (auto k = ratings.row_ptr[u]; k < ratings.row_ptr[u + 1]; ++k) {
      const double s = x.row(static_cast<Eigen::Index>(u)).dot(y.row(ratings.indices[k]));
      const double c = 1.0 + alpha * ratings.values[k];
      loss += c * (1.0 - s) * (1.0 - s) - s * s;
    }
  }
  return loss + lambda * (x.squaredNorm() + y.squaredNorm());
}

}  // namespace

als_model fit_als(const interaction_log& log, const als_options& o) {
  if (log.size() == 0)
    raise<invalid_argument>("retrieval.als_model", "cannot fit on an empty interaction log");
  if (o.factors == 0) raise<invalid_argument>("retrieval.als_model", "factors must be > 0");
  if (!(o.regularization >= 0.0) || !(o.alpha >= 0.0)) {
    raise<invalid_argument>("retrieval.als_model",
                            "regularization ({}) and alpha ({}) must be >= 0", o.regularization,
                            o.alpha);
  }
  if (o.solver == als_solver::conjugate_gradient && o.cg_steps == 0) {
    raise<invalid_argument>("retrieval.als_model",
                            "cg_steps must be > 0 for the conjugate-gradient solver");
  }
  als_model m;
  m.user_ids_ = log.users();
  m.item_ids_ = log.items();
  m.regularization_ = o.regularization;
  m.alpha_ = o.alpha;
  const csr_matrix by_user = log.user_items();
  const csr_matrix by_item = transpose(by_user, log.num_items());

  rng random(o.seed);
  m.users_ = matrix(log.num_users(), o.factors);
  m.items_ = matrix(log.num_items(), o.factors);
  for (std::size_t i = 0; i < m.users_.size(); ++i)
    m.users_.data()[i] = static_cast<float>(random.normal(0.0, 0.01));
  for (std::size_t i = 0; i < m.items_.size(); ++i)
    m.items_.data()[i] = static_cast<float>(random.normal(0.0, 0.01));

  for (std::size_t it = 1; it <= o.iterations; ++it) {
    stopwatch watch;
    half_step(by_user, m.items_, m.users_, o);
    half_step(by_item, m.users_, m.items_, o);
    als_progress p;
    p.iteration = it;
    p.seconds = watch.elapsed_s();
    p.loss = o.compute_loss ? objective(by_user, m.users_, m.items_, o.alpha, o.regularization)
                            : std::nan("");
    m.history_.push_back(p);
    if (o.on_iteration) o.on_iteration(p);
  }
  m.update_gram();
  return m;
}

std::optional<std::vector<float>> als_model::fold_in(std::span<const std::uint64_t> items,
                                                     std::span<const float> weights) const {
  if (!weights.empty() && weights.size() != items.size()) {
    raise<dimension_mismatch>("retrieval.als_model", "fold_in: {} weights for {} items",
                              weights.size(), items.size());
  }
  const auto f = static_cast<Eigen::Index>(factors());
  const auto y = items_.view().as_eigen();
  Eigen::MatrixXd a = Eigen::Map<const Eigen::MatrixXd>(gram_.data(), f, f);
  Eigen::VectorXd b = Eigen::VectorXd::Zero(f);
  bool any = false;
  for (std::size_t k = 0; k < items.size(); ++k) {
    const auto i = item_ids_.find(items[k]);
    if (!i) continue;  // unknown items carry no information about the user
    const double w = weights.empty() ? 1.0 : weights[k];
    if (!std::isfinite(w) || w < 0)
      raise<invalid_argument>("retrieval.als_model",
                              "fold_in: weight {} of item {} must be finite and >= 0", w, items[k]);
    const double c = 1.0 + alpha_ * w;
    const Eigen::VectorXd yi = y.row(*i).transpose().cast<double>();
    a.noalias() += (c - 1.0) * yi * yi.transpose();
    b.noalias() += c * yi;
    any = true;
  }
  if (!any) return std::nullopt;
  const Eigen::VectorXd x = a.llt().solve(b);
  std::vector<float> out(static_cast<std::size_t>(f));
  for (Eigen::Index j = 0; j < f; ++j) out[static_cast<std::size_t>(j)] = static_cast<float>(x(j));
  return out;
}

void als_model::update_gram() {
  const Eigen::MatrixXd y = items_.view().as_eigen().cast<double>();
  Eigen::MatrixXd g = y.transpose() * y;
  g.diagonal().array() += regularization_;
  gram_.assign(g.data(), g.data() + g.size());
}

std::vector<float> als_model::score_all(std::span<const float> user_vector) const {
  if (user_vector.size() != factors()) {
    raise<dimension_mismatch>("retrieval.als_model",
                              "user vector has {} values, model has {} factors", user_vector.size(),
                              factors());
  }
  std::vector<float> scores(items_.rows());
  Eigen::Map<Eigen::VectorXf> out(scores.data(), static_cast<Eigen::Index>(scores.size()));
  const Eigen::Map<const Eigen::VectorXf> v(user_vector.data(),
                                            static_cast<Eigen::Index>(user_vector.size()));
  out.noalias() = items_.view().as_eigen() * v;
  return scores;
}

std::vector<unsigned char> als_model::excluded(const user_query& query) const {
  std::vector<unsigned char> ex;
  if (!query.exclude_history || query.history.empty()) return ex;
  ex.assign(item_ids_.size(), 0);
  for (const auto item : query.history) {
    if (const auto i = item_ids_.find(item)) ex[*i] = 1;
  }
  return ex;
}

json als_model::to_json() const {
  json j = als_document.header();
  j["factors"] = factors();
  j["regularization"] = regularization_;
  j["alpha"] = alpha_;
  j["user_ids"] = user_ids_.externals();
  j["item_ids"] = item_ids_.externals();
  j["user_factors"] = users_.values();
  j["item_factors"] = items_.values();
  return j;
}

als_model als_model::from_json(const json& j) {
  return funnel::detail::read_document(j, als_document, [&](int /*version*/) {
    als_model m;
    const auto f = json_get<std::size_t>(j, "factors", "als_model");
    m.regularization_ = json_get_finite<double>(j, "regularization", "als_model");
    m.alpha_ = json_get_finite<double>(j, "alpha", "als_model");
    for (const auto id : json_get<std::vector<std::uint64_t>>(j, "user_ids", "als_model"))
      m.user_ids_.add(id);
    for (const auto id : json_get<std::vector<std::uint64_t>>(j, "item_ids", "als_model"))
      m.item_ids_.add(id);
    auto uf = json_get<std::vector<float>>(j, "user_factors", "als_model");
    auto itf = json_get<std::vector<float>>(j, "item_factors", "als_model");
    // Divide rather than multiply: a huge `factors` must not wrap the product to the array's size.
    if (f == 0 || uf.size() % f != 0 || itf.size() % f != 0 ||
        uf.size() / f != m.user_ids_.size() || itf.size() / f != m.item_ids_.size()) {
      raise<parse_error>(
          "retrieval.als_model",
          "als_model: factor arrays ({} and {} values) do not match {} users, {} items, {} factors "
          "(or ids repeat)",
          uf.size(), itf.size(), m.user_ids_.size(), m.item_ids_.size(), f);
    }
    for (const auto* v : {&uf, &itf}) {
      for (std::size_t k = 0; k < v->size(); ++k) {
        if (!std::isfinite((*v)[k])) {
          raise<parse_error>("retrieval.als_model", "als_model.{}[{}] is not finite",
                             v == &uf ? "user_factors" : "item_factors", k);
        }
      }
    }
    m.users_ = matrix(std::move(uf), m.user_ids_.size(), f);
    m.items_ = matrix(std::move(itf), m.item_ids_.size(), f);
    m.update_gram();
    return m;
  });
}

}  // namespace funnel::retrieval
