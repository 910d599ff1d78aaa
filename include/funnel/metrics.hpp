#pragma once
/// @file metrics.hpp
/// @brief Umbrella of funnel::metrics: classification, calibration, ranking and regression metrics.

#include <funnel/metrics/calibration.hpp>
#include <funnel/metrics/classification.hpp>
#include <funnel/metrics/ranking.hpp>
#include <funnel/metrics/regression.hpp>
