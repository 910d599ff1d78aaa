#pragma once
/// @file onnx.hpp
/// @brief Umbrella header of the optional library funnel::onnx (link `funnel::onnx`): the ONNX
/// evaluator, the neural scorers and two-tower retrieval (docs/neural.md). Not included by
/// funnel/funnel.hpp, since funnel::funnel does not contain it.

#include <funnel/onnx/neural_scorer.hpp>
#include <funnel/onnx/onnx_model.hpp>
#include <funnel/onnx/two_tower.hpp>
