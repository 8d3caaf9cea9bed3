// Model lookup (paths, bundled stems, HF ids, aliases) and loading into a ModelIR.
#include "llmcost/model_loader.h"
#include "llmcost/shipped_quant.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <optional>

#include "llmcost/config_reader.h"  // quote_for_message
#include "llmcost/families.h"
#include "llmcost/input_file.h"
#include "llmcost/names.h"
#include "llmcost/value.h"

#ifndef LLMCOST_SOURCE_CONFIG_DIR
#define LLMCOST_SOURCE_CONFIG_DIR ""
#endif

namespace fs = std::filesystem;

namespace llmcost {

namespace {
std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool is_config_ext(const fs::path& p) {
  auto e = p.extension().string();
  return e == ".json" || e == ".yaml" || e == ".yml";
}

std::string& config_dir_override() {
  static std::string dir;
  return dir;
}

std::string exe_dir() {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : p.parent_path().string();
}
}  // namespace

std::string default_config_dir() {
  if (const char* env = std::getenv("LLMCOST_CONFIG_DIR"); env && *env) return env;
  if (!config_dir_override().empty()) return config_dir_override();
  std::error_code ec;
  std::string e = exe_dir();
  for (const char* rel : {"/../configs", "/configs", "/../share/llmcost/configs"}) {
    if (!e.empty() && fs::is_directory(e + rel + std::string("/models"), ec)) return fs::weakly_canonical(e + rel, ec).string();
  }
  return LLMCOST_SOURCE_CONFIG_DIR;
}

void set_default_config_dir(const std::string& dir) { config_dir_override() = dir; }

std::vector<std::string> model_aliases(const std::string& name) {
  std::vector<std::string> out;
  std::string a = lower(name);
  out.push_back(a);
  // Strip trailing variant suffixes: -v0.<digits> (a release of the same model: Mistral-7B-v0.1),
  // -hf, -instruct, -chat, -base, -it. A -v<N>.<M> with N > 0 names another model (DeepSeek-V3.2).
  auto strip_one = [](std::string& t) {
    for (const char* suffix : {"-hf", "-instruct", "-chat", "-base", "-it"}) {
      std::string sfx = suffix;
      if (t.size() > sfx.size() && t.compare(t.size() - sfx.size(), sfx.size(), sfx) == 0) {
        t.resize(t.size() - sfx.size());
        return true;
      }
    }
    size_t dash = t.rfind("-v");
    if (dash == std::string::npos) return false;
    std::string ver = t.substr(dash + 2);
    size_t dot = ver.find('.');
    auto digits = [](const std::string& x) {
      return !x.empty() && x.find_first_not_of("0123456789") == std::string::npos;
    };
    if (dot == std::string::npos || ver.substr(0, dot) != "0" || !digits(ver.substr(dot + 1))) return false;
    t.resize(dash);
    return true;
  };
  std::string b = a;
  while (strip_one(b)) {
  }
  if (b != a && !b.empty()) out.push_back(b);
  return out;
}

std::vector<BundledModel> list_bundled_models(const std::string& config_dir) {
  std::vector<BundledModel> out;
  std::error_code ec;
  fs::path dir = fs::path(config_dir) / "models";
  if (!fs::is_directory(dir, ec)) return out;
  for (const auto& ent : fs::directory_iterator(dir, ec)) {
    if (!ent.is_regular_file() || !is_config_ext(ent.path())) continue;
    // A ModelOpt quantization file beside its model's config is read with that config.
    if (ent.path().filename().string().find(".hf_quant_config.") != std::string::npos) continue;
    BundledModel m;
    m.path = ent.path().string();
    m.stem = ent.path().stem().string();
    auto sep = m.stem.find("__");
    m.hf_id = sep == std::string::npos ? m.stem : m.stem.substr(0, sep) + "/" + m.stem.substr(sep + 2);
    m.aliases = model_aliases(sep == std::string::npos ? m.stem : m.stem.substr(sep + 2));
    out.push_back(std::move(m));
  }
  std::sort(out.begin(), out.end(), [](const BundledModel& a, const BundledModel& b) { return a.stem < b.stem; });
  return out;
}

namespace {

// The config a directory holds, or the path itself; nullopt when nothing is there. Anything that
// exists is returned so that the reader refuses a FIFO or device by name instead of skipping it.
std::optional<std::string> existing_config(const fs::path& p, const std::string& spec) {
  std::error_code ec;
  if (fs::is_directory(p, ec)) {
    for (const char* f : {"config.json", "config.yaml", "config.yml"})
      if (fs::exists(p / f, ec)) return (p / f).string();
    throw Error(spec + ": directory has no config.json");
  }
  if (fs::exists(p, ec)) return p.string();
  return std::nullopt;
}

// A bundled model by stem, HF id or unique alias; nullptr when none matches.
const BundledModel* find_bundled_model(const std::string& spec, const std::vector<BundledModel>& models) {
  const std::string key = lower(spec);
  std::vector<const BundledModel*> hits;
  for (const auto& m : models) {
    if (lower(m.stem) == key || lower(m.hf_id) == key) return &m;
    if (std::find(m.aliases.begin(), m.aliases.end(), key) != m.aliases.end()) hits.push_back(&m);
  }
  if (hits.size() == 1) return hits[0];
  if (hits.size() > 1) {
    std::string names;
    for (auto* h : hits) names += (names.empty() ? "" : ", ") + h->hf_id;
    throw Error("model \"" + escape_control_chars(spec) + "\" is ambiguous: it names " + names);
  }
  return nullptr;
}

std::optional<std::string> find_bundled(const std::string& spec, const std::vector<BundledModel>& models) {
  if (const BundledModel* m = find_bundled_model(spec, models)) return m->path;
  return std::nullopt;
}

// Takes one fine-tuning tail off a hub name (any case): -Instruct, -Chat, -it, -Base, -hf, or a
// four-digit release tag (-2507, -0905). A -v0.N release tail is not one: Mistral-7B-Instruct-v0.3
// has another vocabulary than Mistral-7B-v0.1.
bool strip_finetune_tail(std::string& name) {
  const std::string l = lower(name);
  for (const char* suffix : {"-instruct", "-chat", "-it", "-base", "-hf"}) {
    const std::string sfx = suffix;
    if (l.size() > sfx.size() && l.compare(l.size() - sfx.size(), sfx.size(), sfx) == 0) {
      name.resize(name.size() - sfx.size());
      return true;
    }
  }
  const size_t dash = l.rfind('-');
  if (dash == std::string::npos || dash == 0 || l.size() - dash != 5) return false;
  if (l.find_first_not_of("0123456789", dash + 1) != std::string::npos) return false;
  name.resize(dash);
  return true;
}

}  // namespace

std::string hf_cache_dir() {
  auto env = [](const char* name) -> std::string {
    const char* v = std::getenv(name);
    return v && *v ? v : "";
  };
  if (std::string d = env("HF_HUB_CACHE"); !d.empty()) return d;
  if (std::string d = env("HF_HOME"); !d.empty()) return d + "/hub";
  if (std::string d = env("XDG_CACHE_HOME"); !d.empty()) return d + "/huggingface/hub";
  if (std::string d = env("HOME"); !d.empty()) return d + "/.cache/huggingface/hub";
  return "";
}

namespace {

// A hub name part or revision as a plain file name: letters, digits, '-', '_', '.', not starting
// with '.' (so never "..", never a path).
bool plain_name(const std::string& s) {
  if (s.empty() || s[0] == '.' || s.size() > 255) return false;
  return std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isalnum(c) || c == '-' || c == '_' || c == '.'; });
}

}  // namespace

std::optional<std::string> hf_cache_snapshot(const std::string& repo_id) {
  const size_t slash = repo_id.find('/');
  if (slash == std::string::npos || repo_id.find('/', slash + 1) != std::string::npos) return std::nullopt;
  const std::string org = repo_id.substr(0, slash), name = repo_id.substr(slash + 1);
  if (!plain_name(org) || !plain_name(name)) return std::nullopt;
  const std::string cache = hf_cache_dir();
  if (cache.empty()) return std::nullopt;
  std::error_code ec;
  const fs::path repo = fs::path(cache) / ("models--" + org + "--" + name);
  if (!fs::is_directory(repo / "snapshots", ec)) return std::nullopt;
  const fs::path ref = repo / "refs" / "main";
  if (fs::exists(ref, ec)) {
    std::string rev = read_input_file(ref.string(), InputLimits{"Hugging Face ref", 4096, 1});
    while (!rev.empty() && std::isspace(static_cast<unsigned char>(rev.back()))) rev.pop_back();
    if (!plain_name(rev))
      throw Error(ref.string() + ": must hold a revision (a commit hash), got " + quote_for_message(rev));
    const fs::path snap = repo / "snapshots" / rev;
    if (!fs::is_directory(snap, ec))
      throw Error(ref.string() + ": names revision " + rev + ", which has no snapshot in " + (repo / "snapshots").string());
    return snap.string();
  }
  std::vector<fs::path> snaps;
  for (const auto& e : fs::directory_iterator(repo / "snapshots", ec))
    if (e.is_directory(ec)) snaps.push_back(e.path());
  if (snaps.size() == 1) return snaps[0].string();
  if (snaps.empty()) return std::nullopt;
  throw Error((repo / "snapshots").string() + ": holds " + std::to_string(snaps.size()) +
              " snapshots and there is no refs/main to choose one; pass the snapshot directory");
}

ResolvedModel resolve_model(const std::string& spec, const std::string& config_dir) {
  if (spec.empty()) throw Error("model: an empty name was given; pass a config path or a bundled model (see `llmcost models`)");
  fs::path p(spec);
  if (auto found = existing_config(p, spec)) return {*found, ""};
  // A downloaded checkpoint is the model as shipped: it comes before a bundled copy of its config.
  if (auto snap = hf_cache_snapshot(spec)) return {*existing_config(fs::path(*snap), *snap), ""};

  auto models = list_bundled_models(config_dir);
  if (auto bundled = find_bundled(spec, models)) return {*bundled, ""};
  bool looks_like_path = spec.find('/') != std::string::npos && (is_config_ext(p) || spec[0] == '.' || spec[0] == '/');
  if (looks_like_path) throw Error(spec + ": cannot read file (No such file or directory)");
  // A fine-tuned variant of a bundled model (its exact id is neither a path, cached nor bundled):
  // the bundled base, said so.
  for (std::string base = spec; strip_finetune_tail(base);)
    if (const BundledModel* m = find_bundled_model(base, models))
      return {m->path, "model \"" + escape_control_chars(spec) + "\" taken as " + m->hf_id +
                           " (same architecture and counts; the " + escape_control_chars(spec.substr(base.size())) +
                           " checkpoint is not bundled)"};
  std::vector<std::pair<std::string, std::string>> candidates;
  for (const auto& m : models) {
    candidates.emplace_back(m.hf_id, m.hf_id);
    for (const auto& a : m.aliases) candidates.emplace_back(a, m.hf_id);
  }
  const std::string close = closest_names_shown(spec, candidates);
  throw Error("model \"" + escape_control_chars(spec) + "\" is neither a readable path nor a bundled model" +
              (close.empty() ? std::string("; run `llmcost models` for the list")
                             : "; did you mean: " + close + "? (`llmcost models` lists them)"));
}

std::string resolve_model_path(const std::string& spec, const std::string& config_dir) {
  return resolve_model(spec, config_dir).path;
}

std::string resolve_model_path_within(const std::string& spec, const std::string& config_dir, const std::string& dir,
                                      const std::string& where) {
  if (auto bundled = find_bundled(spec, list_bundled_models(config_dir))) return *bundled;
  // Relative to `dir`, or absolute (as `ci record --models /abs/path` writes it); either way the
  // target, with ".." and symlinks resolved, must lie inside `dir`.
  std::error_code ec;
  const fs::path base = fs::weakly_canonical(dir.empty() ? fs::path(".") : fs::path(dir), ec);
  auto inside = [&](const fs::path& p) {
    std::error_code e;
    const fs::path c = fs::weakly_canonical(p, e);
    auto [b, t] = std::mismatch(base.begin(), base.end(), c.begin(), c.end());
    return !e && b == base.end() && t != c.end();
  };
  const fs::path target = base / fs::path(spec);
  bool escapes = spec.empty() || !inside(target);
  if (!escapes)
    if (auto found = existing_config(target, spec)) {
      if (inside(*found)) return *found;  // a directory's config.json may be a link out, too
      escapes = true;
    }
  throw Error(where + " names model " + quote_for_message(spec) + ", which is neither a bundled model nor a config inside " +
              base.string() + (escapes ? " (paths there may not leave that directory)" : ""));
}

ModelIR load_model(const std::string& spec, const std::string& config_dir, std::string* note) {
  ResolvedModel resolved = resolve_model(spec, config_dir);
  if (note) *note = resolved.note;
  const std::string& path = resolved.path;
  Value v = parse_config_file(path);
  ModelIR ir = build_model_ir(v, path);
  // A ModelOpt hf_quant_config.json beside the config describes the stored formats (it wins over
  // the config's own quantization_config, which ModelOpt exports only partly).
  if (std::string hq = hf_quant_config_beside(path); !hq.empty()) {
    Value qv = parse_config_file(hq);
    ConfigReader qr(qv, hq);
    resolve_shipped_quant(ir, &qr, v.find("text_config") != nullptr);
  }
  fs::path fp(path);
  std::string stem = fp.stem().string();
  if (stem == "config") stem = fp.parent_path().filename().string();
  auto sep = stem.find("__");
  ir.name = sep == std::string::npos ? stem : stem.substr(0, sep) + "/" + stem.substr(sep + 2);
  return ir;
}

}  // namespace llmcost
