#pragma once
/// @file rerank.hpp
/// @brief Umbrella header of funnel's re-ranking module (MMR, DPP, window/caps/decay/freshness
/// rules, exploration slots, composition). See docs/rerank.md.

#include <funnel/rerank/chain.hpp>
#include <funnel/rerank/dpp.hpp>
#include <funnel/rerank/explore.hpp>
#include <funnel/rerank/mmr.hpp>
#include <funnel/rerank/rules.hpp>
#include <funnel/rerank/similarity.hpp>
#include <funnel/rerank/slate.hpp>
