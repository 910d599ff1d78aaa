#pragma once
/// @file funnel.hpp
/// @brief Umbrella header: every funnel module.

#include <funnel/core.hpp>
