#pragma once
/// @file special_functions.hpp
/// @brief Moved to `funnel/stats/special_functions.hpp` (same names, namespace funnel::stats);
/// this forwarding header is kept for 0.2 only and will be removed in the next release.

#include <funnel/stats/special_functions.hpp>
