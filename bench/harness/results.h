// The results model of shoal-bench: one Point per scenario and parameter point, each
// metric a list of samples (one per repetition) with a unit, ratios declared as
// "numerator / per / denominator" over named figures and computed when the file is
// written (so a ratio always agrees with the figures it is made of), and the run's
// references (Kinesis limits, the device ceiling and memcpy measured in this run).
// results/README.md documents the JSON this produces; validate_results.py checks it.
#pragma once

#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bench/harness/json.h"

namespace shoal::bench {

// Units the harness uses: a dimension and the factor to that dimension's base unit (bytes,
// seconds, records, ...). A ratio's two figures must share a dimension; the ratio is taken
// in base units. validate_results.py keeps the same table.
struct UnitInfo {
  const char* unit;
  const char* dimension;
  double factor;
};
const std::vector<UnitInfo>& Units();
const UnitInfo* FindUnit(const std::string& unit);

struct Metric {
  std::string unit;
  std::vector<double> samples;  // one per repetition (or per pass, where said)
  double Median() const;
  double Min() const;
  double Max() const;
};

double MedianOf(std::vector<double> v);

// value = numerator / per / denominator, each figure converted to its base unit.
// Paths: "metrics.<name>" (this point), "references.<name>", "points.<id>.metrics.<name>".
struct RatioSpec {
  std::string name;
  std::string numerator;
  std::string denominator;
  double per = 1;
  std::string description;
};

struct Point {
  std::string scenario;
  std::string id;     // unique in the run: "<scenario>/<what>"
  std::string title;  // one line for humans
  Json params = Json::MakeObject();
  std::vector<std::pair<std::string, Metric>> metrics;
  std::vector<RatioSpec> ratios;
  Json extra = Json::MakeObject();  // timelines and evidence; not figures
  std::vector<std::string> notes;
  std::string error;  // non-empty: the point (or some repetition) failed
  int repetitions_planned = 0;

  // Adds a sample to `name`, creating it with `unit` (a unit must never change).
  void Add(const std::string& name, double sample, const std::string& unit);
  const Metric* Find(const std::string& name) const;
  void AddRatio(std::string name, std::string numerator, std::string denominator, double per = 1,
                std::string description = {});
};

struct Reference {
  std::string name;
  double value = 0;
  std::string unit;
  std::string source;  // "Kinesis per-shard limit" or "points.<id>.metrics.<name>"
  std::string description;
};

class Results {
 public:
  Point& NewPoint(std::string scenario, std::string id, std::string title);
  Point* FindPoint(const std::string& id);
  const std::deque<Point>& points() const { return points_; }

  void AddReference(Reference r);
  // A reference taken from a measured point's median (skipped if the point has no samples).
  bool AddMeasuredReference(const std::string& name, const std::string& point_id,
                            const std::string& metric, const std::string& description);
  const Reference* FindReference(const std::string& name) const;

  void AddError(const std::string& scenario, const std::string& point, const std::string& message);

  Json run = Json::MakeObject();
  Json machine = Json::MakeObject();
  Json git = Json::MakeObject();

  Json ToJson() const;

 private:
  struct Figure {
    double value;
    std::string unit;
  };
  std::optional<Figure> Resolve(const Point& self, const std::string& path) const;

  std::deque<Point> points_;  // deque: references to points stay valid
  std::vector<Reference> references_;
  std::vector<Json> errors_;
};

}  // namespace shoal::bench
