// One declared schema per layer kind: every attribute and array its kernel reads (or records), with its
// type, whether it is required, and the default of an optional one. The registry checks each layer
// description against its kind's schema before building the kernel, so an unknown key (a misspelling in a
// hand-edited model file), a missing required key or a value of the wrong type is an error naming the
// layer and the key, never a silently taken default. Python reads the same schemas (_core.layer_schemas).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace l1emu::layers {

struct LayerDesc;

// An attribute value as the model file stores it: integers as integers, everything else as text.
using AttrValue = std::variant<int64_t, std::string>;

enum class AttrType { Int, Str, Spec };  // Spec: an ap_fixed/ap_int type, checked by parsing it

struct AttrDecl {
    std::string name;
    AttrType type;
    bool required;
    std::optional<AttrValue> fallback;  // the value of an absent optional attribute (none: absent stays absent)
};

struct ArrayDecl {
    std::string name;
    bool required;
};

struct Schema {
    std::vector<AttrDecl> attrs;
    std::vector<ArrayDecl> arrays;

    // Fails (LayerDesc::fail) on an undeclared, missing or mistyped key; fills in the defaults.
    void apply(LayerDesc &desc) const;
};

// Terse declarations for the family files.
// (Which values a Str attribute may take is the kernel's to check: it parses them into its own enum.)
inline AttrDecl required(std::string name, AttrType type) { return AttrDecl{std::move(name), type, true, std::nullopt}; }
inline AttrDecl optional(std::string name, AttrType type) { return AttrDecl{std::move(name), type, false, std::nullopt}; }
inline AttrDecl int_default(std::string name, int64_t fallback) {
    // built in place: moving a variant<int64_t, string> into the optional trips GCC 12's
    // -Wmaybe-uninitialized under the sanitizers (a false positive on the inactive string)
    return AttrDecl{std::move(name), AttrType::Int, false,
                    std::optional<AttrValue>(std::in_place, std::in_place_index<0>, fallback)};
}
inline AttrDecl str_default(std::string name, const char *fallback) {
    return AttrDecl{std::move(name), AttrType::Str, false,
                    std::optional<AttrValue>(std::in_place, std::in_place_index<1>, fallback)};
}

const char *type_name(AttrType t);

}  // namespace l1emu::layers
