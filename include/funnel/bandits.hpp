#pragma once
/// @file bandits.hpp
/// @brief Umbrella header of the bandits module: multi-armed and linear contextual policies,
/// sharing between threads, off-policy evaluation.

#include <funnel/bandits/common.hpp>
#include <funnel/bandits/concurrent.hpp>
#include <funnel/bandits/linear.hpp>
#include <funnel/bandits/mab.hpp>
#include <funnel/bandits/ope.hpp>
