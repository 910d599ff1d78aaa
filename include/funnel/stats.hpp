#pragma once
/// @file stats.hpp
/// @brief Umbrella header of the stats module: special functions and distribution tails shared by
/// the experiments and drift modules (funnel::stats).

#include <funnel/stats/kolmogorov.hpp>
#include <funnel/stats/special_functions.hpp>
