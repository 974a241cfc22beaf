// The AWS CLI's shorthand syntax (awscli/shorthand.py), for structure, map and
// list-of-structure parameters:
//
//   --records Data=aGVsbG8=,PartitionKey=user-42 Data=cGluZw==,PartitionKey=k2
//   --tags Key1=Value1,Key2=Value2       --stream-mode-details StreamMode=ON_DEMAND
//   --shard-filter Type=AT_TIMESTAMP,Timestamp=1700000000
//
// Values may be quoted ('a,b' or "a,b"), commas escaped (a\,b), lists written [a,b] and
// structures {k=v}; a bare "k=a,b" makes a list of "a" and "b". After parsing, the model
// adjusts types as the CLI's BackCompatVisitor does (integers, booleans, one value where a
// list is expected becomes a one-element list).
#pragma once

#include <string>

#include "tools/cli/model.h"
#include "tools/cli/value.h"

namespace shoal::cli {

// Parses one shorthand argument. Throws CliError (exit 252) with the CLI's text,
// "Error parsing parameter '<cli_name>': Expected: '=', received: 'EOF' for input: ...".
Value ParseShorthand(const std::string& text, const std::string& cli_name);

// Applies the model to a parsed shorthand value (BackCompatVisitor).
void ApplyShorthandModel(const Shape& shape, Value* value, const std::string& cli_name);

}  // namespace shoal::cli
