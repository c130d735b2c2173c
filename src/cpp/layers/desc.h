// The plain-data description of a layer as the model file stores it: kind, typed attributes and integer
// arrays. Each layer family turns one into a kernel (see graph/registry.cpp).
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include "layer.h"
#include "schema.h"

namespace l1emu::layers {

struct Array {
    std::vector<int64_t> data;
    std::vector<size_t> shape;
};

struct LayerDesc {
    std::string name, kind;
    std::vector<int> inputs;
    std::vector<TensorInfo> input_info;  // filled by the model from its tensors
    std::vector<size_t> shape;           // output shape (per event)
    Spec spec;                           // output type
    std::map<std::string, AttrValue> attrs;
    std::map<std::string, Array> arrays;

    size_t out_size() const {
        size_t n = 1;
        for (auto d : shape) n *= d;
        return n;
    }
    TensorInfo out() const { return TensorInfo{out_size(), spec}; }
    [[noreturn]] void fail(const std::string &what) const {
        throw std::invalid_argument("layer '" + name + "' (" + kind + "): " + what);
    }
    // Typed reads. The schema (schema.h) has checked every key and type and filled in the defaults, so a
    // failure here means a kernel reads a key its schema does not declare, or a conditional attribute
    // (one that only some variants of the layer need) is absent.
    bool has_attr(const std::string &key) const { return attrs.count(key) != 0; }
    const std::string &attr(const std::string &key) const {
        const AttrValue &v = value(key);
        if (!std::holds_alternative<std::string>(v)) fail("attribute '" + key + "' is not a string");
        return std::get<std::string>(v);
    }
    int64_t int_attr(const std::string &key) const {
        const AttrValue &v = value(key);
        if (!std::holds_alternative<int64_t>(v)) fail("attribute '" + key + "' is not an integer");
        return std::get<int64_t>(v);
    }
    Spec spec_attr(const std::string &key) const { return fixed::parse_spec(attr(key)); }
    const Array &array(const std::string &key) const {
        auto it = arrays.find(key);
        if (it == arrays.end()) fail("missing array '" + key + "'");
        return it->second;
    }
    bool has_array(const std::string &key) const { return arrays.count(key) != 0; }

   private:
    const AttrValue &value(const std::string &key) const {
        auto it = attrs.find(key);
        if (it == attrs.end()) fail("missing attribute '" + key + "'");
        return it->second;
    }
};

}  // namespace l1emu::layers
