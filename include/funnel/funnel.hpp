#pragma once
/// @file funnel.hpp
/// @brief Umbrella header: every funnel module.

#include <funnel/bandits.hpp>
#include <funnel/core.hpp>
#include <funnel/drift.hpp>
#include <funnel/experiments.hpp>
#include <funnel/features.hpp>
#include <funnel/metrics.hpp>
#include <funnel/pipeline.hpp>
#include <funnel/rerank.hpp>
#include <funnel/retrieval.hpp>
#include <funnel/scoring.hpp>
#include <funnel/stats.hpp>
