// shoal: the Kinesis Data Streams commands of `aws kinesis`, run in-process on a Shoal data
// directory (no server): the same command and flag names, the same JSON output, the same
// exit status.
//
//   shoal --data-dir DIR <command> [parameters]      (shoal help lists everything)
//
// Each run opens the directory (Engine::Open takes its lock), sends one request, or one per
// page, through api::KinesisService::Call (the operations layer shoald serves over HTTP),
// prints the result and closes the directory cleanly. Shard iterators are signed with
// DIR/shoald.key, shared with shoald, so they work across runs.
//
// Output and errors follow AWS CLI v2: the result on stdout as json.dumps(indent=4), after
// botocore's parsing (members in model order, ISO 8601 timestamps) and, for the paginated
// commands, its page merging; service errors on stderr as
//   "\nAn error occurred (<Type>) when calling the <Operation> operation: <message>\n"
// with exit status 254; usage and parameter errors exit 252; a data directory that cannot
// be opened (shoald holding it, permissions, damage) exits 255. A directory locked by
// another shoal command is waited for up to 2 s.
#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "api/kinesis_service.h"
#include "kernel/engine.h"
#include "kernel/log_options.h"
#include "tools/cli/errors.h"
#include "tools/cli/help.h"
#include "tools/cli/model.h"
#include "tools/cli/output.h"
#include "tools/cli/params.h"
#include "tools/cli/query.h"
#include "tools/cli/token_key.h"
#include "tools/cli/value.h"

#ifndef SHOAL_VERSION
#define SHOAL_VERSION "0.1.0"
#endif

namespace shoal::cli {
namespace {

struct Globals {
  std::string data_dir;
  std::string durability = "always";
  std::string region = "us-east-1";
  std::string account_id = "000000000000";
  std::string output = "json";
  std::optional<std::string> query;
  std::string binary_format = "base64";
  bool paginate = true;
  bool debug = false;
  bool help = false;
  bool version = false;
};

// Global options are taken out wherever they appear (the AWS CLI parses them with
// parse_known_args over the whole line); the rest is the command and its parameters.
void ExtractGlobals(const std::vector<std::string>& args, Globals* g, std::vector<std::string>* rest) {
  struct Opt {
    const char* name;
    bool takes_value;
    std::string* target;
    bool* flag;
  };
  std::string ignored;
  bool ignored_flag = false;
  std::string endpoint;
  std::string query;
  bool no_paginate = false;
  const Opt opts[] = {
      {"--data-dir", true, &g->data_dir, nullptr},
      {"--durability", true, &g->durability, nullptr},
      {"--region", true, &g->region, nullptr},
      {"--account-id", true, &g->account_id, nullptr},
      {"--output", true, &g->output, nullptr},
      {"--query", true, &query, nullptr},
      {"--cli-binary-format", true, &g->binary_format, nullptr},
      {"--no-paginate", false, nullptr, &no_paginate},
      {"--debug", false, nullptr, &g->debug},
      {"--version", false, nullptr, &g->version},
      {"--endpoint-url", true, &endpoint, nullptr},
      // AWS CLI options without a meaning here: accepted so scripts keep working.
      {"--no-cli-pager", false, nullptr, &ignored_flag},
      {"--no-cli-auto-prompt", false, nullptr, &ignored_flag},
      {"--cli-auto-prompt", false, nullptr, &ignored_flag},
      {"--no-sign-request", false, nullptr, &ignored_flag},
      {"--no-verify-ssl", false, nullptr, &ignored_flag},
      {"--color", true, &ignored, nullptr},
      {"--profile", true, &ignored, nullptr},
      {"--ca-bundle", true, &ignored, nullptr},
      {"--cli-read-timeout", true, &ignored, nullptr},
      {"--cli-connect-timeout", true, &ignored, nullptr},
  };
  bool query_given = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& tok = args[i];
    const Opt* hit = nullptr;
    std::optional<std::string> inline_value;
    for (const Opt& o : opts) {
      if (tok == o.name) {
        hit = &o;
      } else if (o.takes_value && tok.rfind(std::string(o.name) + "=", 0) == 0) {
        hit = &o;
        inline_value = tok.substr(std::string(o.name).size() + 1);
      }
      if (hit) break;
    }
    if (!hit) {
      if (rest->empty() && (tok == "--help" || tok == "-h")) g->help = true;
      else rest->push_back(tok);
      continue;
    }
    if (!hit->takes_value) {
      *hit->flag = true;
      continue;
    }
    if (inline_value) {
      *hit->target = *inline_value;
    } else if (i + 1 < args.size()) {
      *hit->target = args[++i];
    } else {
      UsageError(fmt::format("argument {}: expected one argument", hit->name));
    }
    if (hit->target == &query) query_given = true;
  }
  if (!endpoint.empty() || std::find(args.begin(), args.end(), "--endpoint-url") != args.end())
    UsageError(fmt::format(
        "argument --endpoint-url: shoal runs the operations in-process on --data-dir; to use a server, run "
        "`aws --endpoint-url {} kinesis ...`",
        endpoint.empty() ? "http://127.0.0.1:4567" : endpoint));
  if (no_paginate) g->paginate = false;
  if (query_given) g->query = query;
  auto check_choice = [](const char* name, const std::string& v, std::initializer_list<const char*> choices) {
    for (const char* c : choices)
      if (v == c) return;
    std::string list;
    for (const char* c : choices) list += (list.empty() ? "" : ", ") + std::string(c);
    UsageError(fmt::format("argument {}: Invalid choice, valid choices are: {} (got '{}')", name, list, v));
  };
  check_choice("--durability", g->durability, {"none", "interval", "always"});
  check_choice("--output", g->output, {"json", "text"});
  check_choice("--cli-binary-format", g->binary_format, {"base64", "raw-in-base64-out"});
  if (g->account_id.size() != 12 || g->account_id.find_first_not_of("0123456789") != std::string::npos)
    UsageError(fmt::format("argument --account-id: must be 12 digits (got '{}')", g->account_id));
}

// difflib.SequenceMatcher(None, a, b).ratio() (no junk; the autojunk heuristic only
// applies to sequences of 200 or more).
double Ratio(const std::string& a, const std::string& b) {
  std::function<size_t(size_t, size_t, size_t, size_t)> matched = [&](size_t alo, size_t ahi, size_t blo,
                                                                        size_t bhi) -> size_t {
    // find_longest_match: the longest block, earliest in a, then earliest in b.
    size_t besti = alo, bestj = blo, bestsize = 0;
    std::vector<size_t> j2len(b.size() + 1, 0), newj2len(b.size() + 1, 0);
    for (size_t i = alo; i < ahi; ++i) {
      std::fill(newj2len.begin(), newj2len.end(), 0);
      for (size_t j = blo; j < bhi; ++j) {
        if (b[j] != a[i]) continue;
        size_t k = (j > 0 ? j2len[j - 1] : 0) + 1;
        newj2len[j] = k;
        if (k > bestsize) {
          besti = i + 1 - k;
          bestj = j + 1 - k;
          bestsize = k;
        }
      }
      std::swap(j2len, newj2len);
    }
    if (bestsize == 0) return 0;
    size_t total = bestsize;
    if (alo < besti && blo < bestj) total += matched(alo, besti, blo, bestj);
    if (besti + bestsize < ahi && bestj + bestsize < bhi)
      total += matched(besti + bestsize, ahi, bestj + bestsize, bhi);
    return total;
  };
  size_t t = a.size() + b.size();
  return t ? 2.0 * static_cast<double>(matched(0, a.size(), 0, b.size())) / static_cast<double>(t) : 1.0;
}

[[noreturn]] void InvalidCommand(const std::string& command) {
  std::vector<std::string> choices;
  for (const Operation& op : Operations()) choices.push_back(op.command);
  choices.push_back("help");
  std::string msg = "argument command: Invalid choice, valid choices are:\n";
  for (size_t i = 0; i < choices.size(); i += 2) {
    msg += "\n" + fmt::format("{:<40}", choices[i]);
    if (i + 1 < choices.size()) msg += " | " + fmt::format("{:<40}", choices[i + 1]);
  }
  // difflib.get_close_matches(command, choices, n=3, cutoff=0.8)
  std::vector<std::pair<double, std::string>> close;
  for (const std::string& c : choices) {
    double r = Ratio(c, command);
    if (r >= 0.8) close.emplace_back(r, c);
  }
  std::sort(close.begin(), close.end(), [](const auto& x, const auto& y) { return x > y; });
  if (close.size() > 3) close.resize(3);
  if (!close.empty()) {
    msg += fmt::format("\n\n\nInvalid choice: {}, maybe you meant:\n", PyRepr(Value::String(command)));
    for (const auto& [r, c] : close) msg += "\n  * " + c;
  }
  UsageError(msg);
}

void Write(const std::string& s) {
  if (!s.empty()) {
    (void)!fwrite(s.data(), 1, s.size(), stdout);
  }
}

struct ServiceErrorText {
  std::string code;
  std::string message;
};

ServiceErrorText ErrorOf(const api::HttpResponse& r) {
  Value body;
  std::string err;
  ServiceErrorText e;
  if (!r.body.empty() && ParseJson(r.body, &body, &err) && body.is_object()) {
    const Value* m = body.Get("message");
    if (!m) m = body.Get("Message");
    if (m) e.message = PyStr(*m);
    if (const Value* t = body.Get("__type"); t && t->is_string()) e.code = t->s;
  }
  if (e.code.empty()) e.code = !r.error_type.empty() ? r.error_type : std::to_string(r.status);
  if (size_t colon = e.code.find(':'); colon != std::string::npos) e.code = e.code.substr(0, colon);
  if (size_t hash = e.code.rfind('#'); hash != std::string::npos) e.code = e.code.substr(hash + 1);
  return e;
}

bool Retryable(const api::HttpResponse& r, const std::string& code) {
  static const char* kCodes[] = {"Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
                                 "TooManyRequestsException", "ProvisionedThroughputExceededException",
                                 "TransactionInProgressException", "RequestLimitExceeded", "BandwidthLimitExceeded",
                                 "LimitExceededException", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
                                 "EC2ThrottledException", "RequestTimeout", "RequestTimeoutException"};
  if (r.status == 500 || r.status == 502 || r.status == 503 || r.status == 504) return true;
  for (const char* c : kCodes)
    if (code == c) return true;
  return false;
}

// One request, with the AWS CLI's standard retry mode (3 attempts, jittered exponential
// backoff) for throttling and 5xx answers.
Value CallOperation(api::KinesisService& service, const Operation& op, const Value& params, bool debug) {
  const std::string body = SerializeRequest(*op.input, params);
  thread_local std::mt19937_64 rng{std::random_device{}()};
  constexpr int kMaxAttempts = 3;
  for (int attempt = 0;; ++attempt) {
    if (debug) fmt::print(stderr, "shoal: {} request: {}\n", op.name, body);
    api::HttpResponse r = service.Call(op.name, body);
    if (debug) fmt::print(stderr, "shoal: {} response: {} {}\n", op.name, r.status, r.body);
    if (r.status == 200) {
      if (!op.output) return Value::Object();
      Value parsed;
      std::string err;
      if (r.body.empty()) return Value::Object();
      if (!ParseJson(r.body, &parsed, &err))
        throw CliError(kExitGeneral, fmt::format("\nshoal: unreadable {} response ({}): {}\n", op.name, err, r.body));
      return ParseResponse(*op.output, parsed);
    }
    ServiceErrorText e = ErrorOf(r);
    const bool retryable = Retryable(r, e.code);
    if (retryable && attempt + 1 < kMaxAttempts) {
      double delay = std::uniform_real_distribution<double>(0, 1)(rng) * static_cast<double>(1 << attempt);
      std::this_thread::sleep_for(std::chrono::duration<double>(delay));
      continue;
    }
    std::string retry_info = retryable ? fmt::format(" (reached max retries: {})", kMaxAttempts - 1) : "";
    throw CliError(kExitService, fmt::format("\nAn error occurred ({}) when calling the {} operation{}: {}\n", e.code,
                                             op.name, retry_info, e.message));
  }
}

std::string Render(const Globals& g, const std::optional<Query>& query, Value result) {
  if (query) result = query->Search(result);
  if (g.output == "text") return FormatText(result);
  if (result.is_object() && result.o.empty()) return "";  // no result: print nothing
  return ToPrettyJson(result) + "\n";
}

int Run(const std::vector<std::string>& args) {
  Globals g;
  std::vector<std::string> rest;
  ExtractGlobals(args, &g, &rest);
  if (g.version) {
    Write(fmt::format("shoal {} (aws-cli/2 compatible kinesis commands)\n", SHOAL_VERSION));
    return kExitOk;
  }
  if (rest.empty() || rest[0] == "help") {
    if (rest.size() >= 2) {
      if (const Operation* op = FindOperation(rest[1])) {
        Write(CommandHelp(*op));
        return kExitOk;
      }
    }
    if (rest.empty() && !g.help) UsageError("the following arguments are required: command");
    Write(MainHelp());
    return kExitOk;
  }
  const Operation* op = FindOperation(rest[0]);
  if (!op) {
    if (g.help) {
      Write(MainHelp());
      return kExitOk;
    }
    InvalidCommand(rest[0]);
  }
  CommandArgs ca = ParseCommandArgs(*op, std::vector<std::string>(rest.begin() + 1, rest.end()));
  if (ca.help || g.help) {
    Write(CommandHelp(*op));
    return kExitOk;
  }
  if (g.data_dir.empty()) UsageError("the following arguments are required: --data-dir");
  std::optional<Query> query;
  if (g.query) query.emplace(*g.query);

  // Paging: on by default for the three paginated commands, off with --no-paginate or when
  // the command line (or --cli-input-json) carries the call's own paging members.
  bool paginate = op->paginator.has_value() && g.paginate;
  if (op->paginator) {
    std::vector<std::string> manual = op->paginator->input_tokens;
    manual.push_back(op->paginator->limit_key);
    if (op->name == "ListStreams") manual.push_back("ExclusiveStartStreamName");
    for (const std::string& m : manual)
      if (ca.params.Get(m)) paginate = false;
    if (!paginate) {
      std::string used;
      if (ca.starting_token) used += "--starting-token";
      if (ca.page_size) used += std::string(used.empty() ? "" : ", ") + "--page-size";
      if (ca.max_items) used += std::string(used.empty() ? "" : ", ") + "--max-items";
      if (!used.empty())
        ParamFailure("Cannot specify --no-paginate along with pagination arguments: " + used);
    }
  }
  Value params = BuildParameters(*op, ca, g.binary_format == "base64");
  if (paginate) {
    for (const std::string& m : op->paginator->input_tokens)
      if (params.Get(m)) paginate = false;
    if (params.Get(op->paginator->limit_key)) paginate = false;
  }

  // The data directory.
  std::error_code ec;
  std::filesystem::create_directories(g.data_dir, ec);
  if (ec)
    throw CliError(kExitGeneral, fmt::format("\nshoal: cannot create the data directory {}: {}\n", g.data_dir,
                                             ec.message()));
  EngineOptions eo;
  eo.log.durability = ParseDurability(g.durability).value();
  // Another shoal command on the same directory holds the lock for a fraction of a second:
  // wait for it briefly. shoald holds it for good; after the wait, say so.
  auto opened = Engine::Open(g.data_dir, eo);
  for (auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
       !opened.ok() && opened.status().code() == Code::kBusy && std::chrono::steady_clock::now() < deadline;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    opened = Engine::Open(g.data_dir, eo);
  }
  if (!opened.ok()) {
    if (opened.status().code() == Code::kBusy) {
      throw CliError(
          kExitGeneral,
          fmt::format("\nshoal: the data directory {} is in use by another process, most likely shoald serving it.\n"
                      "Either send the command to the server, e.g.\n"
                      "  aws --endpoint-url http://127.0.0.1:4567 kinesis {} ...\n"
                      "or stop shoald and run shoal again. ({})\n",
                      g.data_dir, op->command, opened.status().ToString()));
    }
    throw CliError(kExitGeneral, fmt::format("\nshoal: cannot open the data directory {}: {}\n", g.data_dir,
                                             opened.status().ToString()));
  }
  std::unique_ptr<Engine> engine = std::move(opened).value();
  auto close_engine = [&]() -> std::string {
    Status st = engine->Close();
    return st.ok() ? "" : fmt::format("\nshoal: the data directory {} did not close cleanly: {}\n", g.data_dir, st.ToString());
  };

  std::string out;
  try {
    api::ServiceOptions so;
    so.region = g.region;
    so.account_id = g.account_id;
    try {
      so.token_key = LoadOrCreateTokenKey(g.data_dir);
    } catch (const std::runtime_error& e) {
      throw CliError(kExitGeneral, fmt::format("\nshoal: {}\n", e.what()));
    }
    api::KinesisService service(*engine, so);
    auto call = [&](const Value& p) { return CallOperation(service, *op, p, g.debug); };
    if (paginate) {
      PagingOptions paging{ca.page_size, ca.max_items, ca.starting_token};
      if (g.output == "text") {
        // The text formatter prints page by page, then the resume token.
        Value merged = Paginate(*op, params, paging, call, [&](const Value& page) { out += Render(g, query, page); });
        if (const Value* token = merged.Get("NextToken"); token && paging.max_items) {
          Value wrapper = Value::Object();
          Value inner = Value::Object();
          inner.Set("NextToken", *token);
          wrapper.Set("NextToken", inner);
          out += Render(g, query, wrapper);
        }
      } else {
        out = Render(g, query, Paginate(*op, params, paging, call));
      }
    } else {
      out = Render(g, query, call(params));
    }
  } catch (...) {
    std::string close_error = close_engine();
    if (!close_error.empty()) fmt::print(stderr, "{}", close_error);
    throw;
  }
  Write(out);
  std::fflush(stdout);
  std::string close_error = close_engine();
  if (!close_error.empty()) throw CliError(kExitGeneral, close_error);
  return kExitOk;
}

}  // namespace
}  // namespace shoal::cli

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);  // a closed pipe must not skip the clean close of the directory
  try {
    return shoal::cli::Run(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const shoal::cli::CliError& e) {
    std::fflush(stdout);
    fmt::print(stderr, "{}", e.what());
    return e.code;
  }
}
