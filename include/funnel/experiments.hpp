#pragma once
/// @file experiments.hpp
/// @brief Umbrella header of the experiments module: bucketing, A/B statistics, sequential tests
/// (the special functions behind them are the stats module, funnel/stats.hpp).

#include <funnel/experiments/bucketing.hpp>
#include <funnel/experiments/sequential.hpp>
#include <funnel/experiments/statistics.hpp>
#include <funnel/stats.hpp>
