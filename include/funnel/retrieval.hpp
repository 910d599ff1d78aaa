#pragma once
/// @file retrieval.hpp
/// @brief Umbrella header of funnel's retrieval module: vector indexes (HNSW, exact), filters,
/// recall, and the candidate generators.

#include <funnel/retrieval/als.hpp>
#include <funnel/retrieval/covisitation.hpp>
#include <funnel/retrieval/exact_index.hpp>
#include <funnel/retrieval/filter.hpp>
#include <funnel/retrieval/hnsw_index.hpp>
#include <funnel/retrieval/interactions.hpp>
#include <funnel/retrieval/popularity.hpp>
#include <funnel/retrieval/query.hpp>
