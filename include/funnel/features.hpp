#pragma once
/// @file features.hpp
/// @brief funnel::features: fitted feature transforms that run bit-identically on a training
/// batch and on one serving row. See docs/features.md.

#include <funnel/features/categorical.hpp>
#include <funnel/features/murmur.hpp>
#include <funnel/features/numeric.hpp>
#include <funnel/features/pipeline.hpp>
#include <funnel/features/schema.hpp>
#include <funnel/features/steps.hpp>
