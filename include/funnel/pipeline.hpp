#pragma once
/// @file pipeline.hpp
/// @brief Umbrella header of funnel's pipeline module.

#include <funnel/pipeline/adapters.hpp>
#include <funnel/pipeline/config.hpp>
#include <funnel/pipeline/filters.hpp>
#include <funnel/pipeline/model_registry.hpp>
#include <funnel/pipeline/pipeline.hpp>
#include <funnel/pipeline/stages.hpp>
