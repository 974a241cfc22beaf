#include "tools/cli/help.h"

#include <fmt/format.h>


namespace shoal::cli {
namespace {

std::string TypeName(const Shape& s) {
  switch (s.type) {
    case Type::kString: return "string";
    case Type::kInteger: return "integer";
    case Type::kLong: return "long";
    case Type::kBoolean: return "boolean";
    case Type::kTimestamp: return "timestamp";
    case Type::kBlob: return "blob";
    case Type::kStructure: return "structure";
    case Type::kList: return "list";
    case Type::kMap: return "map";
  }
  return "";
}

}  // namespace

std::string UsageBanner() {
  return "usage: shoal --data-dir DIR [options] <command> [parameters]\n"
         "To see help text, you can run:\n"
         "\n"
         "  shoal help\n"
         "  shoal <command> help\n";
}

std::string MainHelp() {
  std::string commands;
  for (const Operation& op : Operations()) commands += fmt::format("  {:<34}{}\n", op.command, op.summary);
  return fmt::format(
      R"(shoal: Amazon Kinesis Data Streams commands on a Shoal data directory, without a server.

usage: shoal --data-dir DIR [options] <command> [parameters]

The commands, their parameters and their output are those of `aws kinesis` (AWS CLI v2):
the same kebab-case flags, shorthand and JSON parameter syntax (--records, --tags, ...),
file:// and fileb:// values, --cli-input-json, the same JSON output (4-space indent,
members in the AWS CLI's order, timestamps in ISO 8601), nothing printed for operations
without a result, and the same exit status: 0 success, 252 usage or parameter error,
254 the service refused the request (its message on stderr), 255 the data directory
cannot be used.

  shoal --data-dir DIR create-stream --stream-name KStream --shard-count 2
  shoal --data-dir DIR put-record --stream-name KStream --partition-key 456 --data dGVzdA==
  IT=$(shoal --data-dir DIR get-shard-iterator --stream-name KStream \
         --shard-id shardId-000000000000 --shard-iterator-type TRIM_HORIZON \
         --query ShardIterator --output text)
  shoal --data-dir DIR get-records --shard-iterator "$IT"

Commands:
{}
Binary data (put-record --data, Data= in put-records --records):
  As in AWS CLI v2, blob parameters are base64 by default: --data aGVsbG8= writes the
  five bytes "hello", and --data test writes the three bytes that "test" decodes to.
  With --cli-binary-format raw-in-base64-out the text is the data and shoal base64-encodes
  it for you: --data hello writes "hello". fileb://FILE reads raw bytes from a file in
  either mode. get-records prints Data base64-encoded, as the AWS CLI does.

Global options (accepted anywhere on the line):
  --data-dir DIR              The data directory (required; created if missing). One
                              process uses it at a time: while shoald serves DIR, talk to
                              it with `aws --endpoint-url http://HOST:PORT kinesis ...`.
  --durability MODE           What an acknowledged put survives: always (default; fdatasync
                              before the command returns), interval (fdatasync every 100 ms
                              in the background), none (the OS writes it back).
  --region REGION             Region in ARNs and messages (default us-east-1).
  --account-id ID             12-digit account id in ARNs and messages (default 000000000000).
  --cli-binary-format FORMAT  base64 (default) or raw-in-base64-out; see above.
  --no-paginate               One call only. By default list-streams, list-shards and
                              describe-stream follow NextToken / HasMoreShards and merge the
                              pages (--page-size, --max-items and --starting-token as in the
                              AWS CLI; their own --next-token, --limit, --max-results,
                              --exclusive-start-shard-id also switch paging off).
  --output FORMAT             json (default) or text.
  --query EXPRESSION          A JMESPath subset applied to the output: a.b, "quoted", [N],
                              [*], .*, [] and |, e.g. --query 'Shards[*].ShardId'.
  --debug                     Print each request and response body on stderr.
  --version                   Print shoal's version.
  help, --help                This text; `shoal <command> help` describes one command.
  AWS CLI options that have no meaning here (--no-cli-pager, --color, --profile, ...) are
  accepted and ignored; --endpoint-url is refused: use `aws` for a server.

Shard iterators and paging tokens are signed with the key in DIR/shoald.key (32 random
bytes, created with mode 0600 on first use and shared with shoald), so an iterator printed
by one shoal command works in the next one, and in shoald, for 5 minutes.
)",
      commands);
}

std::string CommandHelp(const Operation& op) {
  std::string synopsis, params;
  auto add = [&](const std::string& flag, const std::string& type, bool required, const std::string& doc) {
    std::string arg = type == "boolean" ? flag : fmt::format("{} <{}>", flag, type);
    synopsis += required ? fmt::format("  {}\n", arg) : fmt::format("  [{}]\n", arg);
    params += fmt::format("  {} ({}){}\n", flag, type, required ? ", required" : "");
    if (!doc.empty()) params += "      " + doc + "\n";
  };
  for (const Member& m : op.input->members) {
    std::string flag = "--" + CliName(m.name);
    if (m.shape->type == Type::kBoolean) flag += " | --no-" + CliName(m.name);
    std::string doc = m.doc;
    if (!m.shape->enums.empty()) {
      std::string e;
      for (const std::string& x : m.shape->enums) e += (e.empty() ? "" : " | ") + x;
      if (doc.find(e) == std::string::npos) doc += (doc.empty() ? "" : " ") + std::string("One of: ") + e + ".";
    }
    add(flag, TypeName(*m.shape), m.required, doc);
  }
  add("--cli-input-json", "string", false,
      "The parameters as a JSON object with the API's member names (flags win), or file://FILE.");
  if (op.paginator) {
    add("--starting-token", "string", false, "Resume from the NextToken a previous --max-items run printed.");
    add("--page-size", "integer", false, "Items per call while paginating.");
    add("--max-items", "integer", false, "Stop after this many items and print a NextToken to resume from.");
  }
  std::string out = fmt::format("shoal {}: {}\n\nusage: shoal --data-dir DIR {}\n{}\nParameters:\n{}", op.command,
                                op.summary, op.command, synopsis, params);
  out += fmt::format("\nThe request is Kinesis_20131202.{}; ", op.name);
  out += op.output ? "the result prints as JSON (or --output text).\n"
                   : "it has no result, so nothing is printed on success.\n";
  if (op.paginator)
    out += "Pages are followed and merged unless --no-paginate (or one of the call's own paging "
           "parameters) is given.\n";
  return out;
}

}  // namespace shoal::cli
