// The plain-data description of a layer as the model file stores it: kind, typed attributes and integer
// arrays. Each layer family turns one into a kernel (see graph/registry.cpp).
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "layer.h"

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
    std::map<std::string, std::string> attrs;
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
    const std::string &attr(const std::string &key) const {
        auto it = attrs.find(key);
        if (it == attrs.end()) fail("missing attribute '" + key + "'");
        return it->second;
    }
    std::string attr(const std::string &key, const std::string &fallback) const {
        auto it = attrs.find(key);
        return it == attrs.end() ? fallback : it->second;
    }
    long long int_attr(const std::string &key) const {
        try {
            return std::stoll(attr(key));
        } catch (const std::logic_error &) {
            fail("attribute '" + key + "' is not an integer");
        }
    }
    Spec spec_attr(const std::string &key) const { return fixed::parse_spec(attr(key)); }
    const Array &array(const std::string &key) const {
        auto it = arrays.find(key);
        if (it == arrays.end()) fail("missing array '" + key + "'");
        return it->second;
    }
    bool has_array(const std::string &key) const { return arrays.count(key) != 0; }
};

}  // namespace l1emu::layers
