#include "schema.h"

#include <algorithm>

#include "desc.h"

namespace l1emu::layers {

const char *type_name(AttrType t) {
    switch (t) {
        case AttrType::Int: return "int";
        case AttrType::Str: return "str";
        case AttrType::Spec: return "spec";
    }
    return "?";
}

namespace {

std::string joined(const std::vector<std::string> &names) {
    std::string s;
    for (const auto &n : names) s += (s.empty() ? "" : ", ") + n;
    return s.empty() ? "none" : s;
}

void check_value(const LayerDesc &d, const AttrDecl &decl, const AttrValue &v) {
    const bool is_int = std::holds_alternative<int64_t>(v);
    if (decl.type == AttrType::Int) {
        if (!is_int) d.fail("attribute '" + decl.name + "' must be an integer, got '" + std::get<std::string>(v) + "'");
        return;
    }
    if (is_int)
        d.fail("attribute '" + decl.name + "' must be " + (decl.type == AttrType::Spec ? "a type name" : "a string") +
               ", got the integer " + std::to_string(std::get<int64_t>(v)));
    if (decl.type == AttrType::Spec) {
        try {
            fixed::parse_spec(std::get<std::string>(v));
        } catch (const std::invalid_argument &err) {
            d.fail("attribute '" + decl.name + "': " + err.what());
        }
    }
}

}  // namespace

void Schema::apply(LayerDesc &d) const {
    std::vector<std::string> attr_names, array_names;
    for (const auto &a : attrs) attr_names.push_back(a.name);
    for (const auto &a : arrays) array_names.push_back(a.name);
    for (const auto &[key, value] : d.attrs) {
        auto it = std::find_if(attrs.begin(), attrs.end(), [&](const AttrDecl &a) { return a.name == key; });
        if (it == attrs.end()) d.fail("unknown attribute '" + key + "' (" + d.kind + " takes " + joined(attr_names) + ")");
        check_value(d, *it, value);
    }
    for (const auto &a : attrs) {
        if (d.attrs.count(a.name)) continue;
        if (a.required) d.fail("missing attribute '" + a.name + "' (" + type_name(a.type) + ")");
        if (a.fallback) d.attrs.emplace(a.name, *a.fallback);
    }
    for (const auto &[key, array] : d.arrays) {
        (void)array;
        if (std::find(array_names.begin(), array_names.end(), key) == array_names.end())
            d.fail("unknown array '" + key + "' (" + d.kind + " takes " + joined(array_names) + ")");
    }
    for (const auto &a : arrays)
        if (a.required && !d.arrays.count(a.name)) d.fail("missing array '" + a.name + "'");
}

}  // namespace l1emu::layers
