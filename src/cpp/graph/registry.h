// Kind name -> factory building the kernel of one layer family from its description.
#pragma once

#include <memory>

#include "../layers/desc.h"

namespace l1emu::graph {

std::unique_ptr<layers::Layer> make_layer(const layers::LayerDesc &desc);

}  // namespace l1emu::graph
