#include "bench/harness/results.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace shoal::bench {

const std::vector<UnitInfo>& Units() {
  static const std::vector<UnitInfo> units = {
      {"B/s", "bytes/s", 1},
      {"MB/s", "bytes/s", 1e6},
      {"MiB/s", "bytes/s", 1048576},
      {"GB/s", "bytes/s", 1e9},
      {"records/s", "records/s", 1},
      {"calls/s", "calls/s", 1},
      {"fsyncs/s", "fsyncs/s", 1},
      {"ns", "s", 1e-9},
      {"us", "s", 1e-6},
      {"ms", "s", 1e-3},
      {"s", "s", 1},
      {"B", "bytes", 1},
      {"KiB", "bytes", 1024},
      {"MiB", "bytes", 1048576},
      {"GiB", "bytes", 1073741824},
      {"MB", "bytes", 1e6},
      {"records", "records", 1},
      {"calls", "calls", 1},
      {"segments", "segments", 1},
      {"files", "files", 1},
      {"shards", "shards", 1},
      {"count", "count", 1},
      {"x", "ratio", 1},
  };
  return units;
}

const UnitInfo* FindUnit(const std::string& unit) {
  for (const UnitInfo& u : Units())
    if (unit == u.unit) return &u;
  return nullptr;
}

double MedianOf(std::vector<double> v) {
  if (v.empty()) return std::nan("");
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double Metric::Median() const { return MedianOf(samples); }
double Metric::Min() const { return samples.empty() ? std::nan("") : *std::min_element(samples.begin(), samples.end()); }
double Metric::Max() const { return samples.empty() ? std::nan("") : *std::max_element(samples.begin(), samples.end()); }

void Point::Add(const std::string& name, double sample, const std::string& unit) {
  if (!FindUnit(unit)) throw std::logic_error("shoal-bench: unknown unit '" + unit + "' for " + name);
  if (!std::isfinite(sample)) {
    notes.push_back("non-finite sample dropped for " + name);
    return;
  }
  for (auto& [n, m] : metrics) {
    if (n != name) continue;
    if (m.unit != unit) throw std::logic_error("shoal-bench: unit of " + name + " changed");
    m.samples.push_back(sample);
    return;
  }
  metrics.emplace_back(name, Metric{unit, {sample}});
}

const Metric* Point::Find(const std::string& name) const {
  for (const auto& [n, m] : metrics)
    if (n == name) return &m;
  return nullptr;
}

void Point::AddRatio(std::string name, std::string numerator, std::string denominator, double per,
                     std::string description) {
  ratios.push_back(RatioSpec{std::move(name), std::move(numerator), std::move(denominator), per,
                             std::move(description)});
}

Point& Results::NewPoint(std::string scenario, std::string id, std::string title) {
  if (FindPoint(id)) throw std::logic_error("shoal-bench: duplicate point id " + id);
  Point& p = points_.emplace_back();
  p.scenario = std::move(scenario);
  p.id = std::move(id);
  p.title = std::move(title);
  return p;
}

Point* Results::FindPoint(const std::string& id) {
  for (Point& p : points_)
    if (p.id == id) return &p;
  return nullptr;
}

void Results::AddReference(Reference r) {
  for (Reference& old : references_) {
    if (old.name == r.name) {
      old = std::move(r);
      return;
    }
  }
  references_.push_back(std::move(r));
}

bool Results::AddMeasuredReference(const std::string& name, const std::string& point_id,
                                   const std::string& metric, const std::string& description) {
  Point* p = FindPoint(point_id);
  if (!p) return false;
  const Metric* m = p->Find(metric);
  if (!m || m->samples.empty()) return false;
  AddReference(Reference{name, m->Median(), m->unit, "points." + point_id + ".metrics." + metric, description});
  return true;
}

const Reference* Results::FindReference(const std::string& name) const {
  for (const Reference& r : references_)
    if (r.name == name) return &r;
  return nullptr;
}

void Results::AddError(const std::string& scenario, const std::string& point, const std::string& message) {
  Json e = Json::MakeObject();
  e.Set("scenario", scenario);
  e.Set("point", point);
  e.Set("message", message);
  errors_.push_back(std::move(e));
}

std::optional<Results::Figure> Results::Resolve(const Point& self, const std::string& path) const {
  auto metric_of = [](const Point& p, const std::string& name) -> std::optional<Figure> {
    const Metric* m = p.Find(name);
    if (!m || m->samples.empty()) return std::nullopt;
    return Figure{m->Median(), m->unit};
  };
  if (path.rfind("metrics.", 0) == 0) return metric_of(self, path.substr(8));
  if (path.rfind("references.", 0) == 0) {
    const Reference* r = FindReference(path.substr(11));
    if (!r) return std::nullopt;
    return Figure{r->value, r->unit};
  }
  if (path.rfind("points.", 0) == 0) {
    // points.<id>.metrics.<name>; ids contain '/' and '=' but never ".metrics."
    const size_t at = path.rfind(".metrics.");
    if (at == std::string::npos) return std::nullopt;
    const std::string id = path.substr(7, at - 7);
    for (const Point& p : points_)
      if (p.id == id) return metric_of(p, path.substr(at + 9));
  }
  return std::nullopt;
}

namespace {

Json MetricJson(const Metric& m) {
  Json j = Json::MakeObject();
  j.Set("value", m.Median());
  j.Set("unit", m.unit);
  j.Set("median", m.Median());
  j.Set("min", m.Min());
  j.Set("max", m.Max());
  j.Set("n", static_cast<int64_t>(m.samples.size()));
  j.Set("samples", Json::ArrayOf(m.samples));
  return j;
}

}  // namespace

Json Results::ToJson() const {
  Json root = Json::MakeObject();
  root.Set("schema", "shoal-bench/1");
  root.Set("run", run);
  root.Set("git", git);
  root.Set("machine", machine);
  Json units = Json::MakeObject();
  for (const UnitInfo& u : Units()) {
    Json j = Json::MakeObject();
    j.Set("dimension", u.dimension);
    j.Set("factor", u.factor);
    units.Set(u.unit, std::move(j));
  }
  root.Set("units", std::move(units));
  Json refs = Json::MakeObject();
  for (const Reference& r : references_) {
    Json j = Json::MakeObject();
    j.Set("value", r.value);
    j.Set("unit", r.unit);
    j.Set("source", r.source);
    j.Set("description", r.description);
    refs.Set(r.name, std::move(j));
  }
  root.Set("references", std::move(refs));
  Json pts = Json::MakeArray();
  for (const Point& p : points_) {
    Json j = Json::MakeObject();
    j.Set("scenario", p.scenario);
    j.Set("id", p.id);
    j.Set("title", p.title);
    j.Set("params", p.params);
    j.Set("repetitions", p.repetitions_planned);
    Json metrics = Json::MakeObject();
    for (const auto& [name, m] : p.metrics)
      if (!m.samples.empty()) metrics.Set(name, MetricJson(m));
    j.Set("metrics", std::move(metrics));
    Json ratios = Json::MakeObject();
    Json notes = Json::ArrayOf(p.notes);
    for (const RatioSpec& r : p.ratios) {
      auto num = Resolve(p, r.numerator);
      auto den = Resolve(p, r.denominator);
      const UnitInfo* nu = num ? FindUnit(num->unit) : nullptr;
      const UnitInfo* du = den ? FindUnit(den->unit) : nullptr;
      if (!nu || !du || std::string(nu->dimension) != du->dimension || den->value == 0 || r.per == 0) {
        notes.Push("ratio " + r.name + " omitted: " + r.numerator + " or " + r.denominator +
                   " missing or not comparable");
        continue;
      }
      Json rj = Json::MakeObject();
      rj.Set("value", num->value * nu->factor / r.per / (den->value * du->factor));
      rj.Set("unit", "x");
      rj.Set("numerator", r.numerator);
      rj.Set("denominator", r.denominator);
      rj.Set("per", r.per);
      if (!r.description.empty()) rj.Set("description", r.description);
      ratios.Set(r.name, std::move(rj));
    }
    j.Set("ratios", std::move(ratios));
    j.Set("notes", std::move(notes));
    if (!p.error.empty()) j.Set("error", p.error);
    if (p.extra.size() > 0) j.Set("extra", p.extra);
    pts.Push(std::move(j));
  }
  root.Set("results", std::move(pts));
  Json errs = Json::MakeArray();
  for (const Json& e : errors_) errs.Push(e);
  root.Set("errors", std::move(errs));
  return root;
}

}  // namespace shoal::bench
