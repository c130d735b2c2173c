// Kind name -> the kernel of one layer family, built from a description checked against the kind's schema.
#pragma once

#include <map>
#include <memory>

#include "../layers/desc.h"

namespace l1emu::graph {

std::unique_ptr<layers::Layer> make_layer(layers::LayerDesc desc);  // fills in the schema's defaults
std::map<std::string, const layers::Schema *> schemas();

}  // namespace l1emu::graph
