#pragma once
/// @file metrics.hpp
/// @brief Umbrella of funnel::metrics: classification, calibration, ranking,
/// regression and retrieval (recall@k) metrics.

#include <funnel/metrics/calibration.hpp>
#include <funnel/metrics/classification.hpp>
#include <funnel/metrics/ranking.hpp>
#include <funnel/metrics/regression.hpp>
#include <funnel/metrics/retrieval.hpp>
