#pragma once
/// @file experiments.hpp
/// @brief Umbrella header of the experiments module: bucketing, A/B statistics, sequential tests,
/// and the special functions behind them (funnel::stats).

#include <funnel/experiments/bucketing.hpp>
#include <funnel/experiments/sequential.hpp>
#include <funnel/experiments/special_functions.hpp>
#include <funnel/experiments/statistics.hpp>
