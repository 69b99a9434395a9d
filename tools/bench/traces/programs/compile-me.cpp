// The C++ source of the compiler trace (T2): g++ -O2 -c of this file, recorded in cc1plus.
// Standard containers, strings, regex and streams instantiated over a few engine-ish types,
// so the compiler builds, instantiates and optimises a lot of templates.
#include <algorithm>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <numeric>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <unordered_map>
#include <variant>
#include <vector>

namespace engine {

struct Vec3 {
  float x = 0, y = 0, z = 0;
  Vec3 operator+(const Vec3& o) const { return {x + o.x, y + o.y, z + o.z}; }
  Vec3 operator*(float k) const { return {x * k, y * k, z * k}; }
  bool operator<(const Vec3& o) const { return std::tie(x, y, z) < std::tie(o.x, o.y, o.z); }
};

struct Transform { Vec3 position, scale{1, 1, 1}; float rotation = 0; };
struct Mesh { std::string name; std::vector<Vec3> vertices; std::vector<unsigned> indices; };
struct Script { std::string source; std::map<std::string, double> vars; };
using Component = std::variant<Transform, Mesh, Script>;

template <typename T>
class Pool {
 public:
  template <typename... A>
  std::size_t emplace(A&&... a) {
    if (!free_.empty()) {
      std::size_t i = free_.back();
      free_.pop_back();
      items_[i] = std::make_unique<T>(std::forward<A>(a)...);
      return i;
    }
    items_.push_back(std::make_unique<T>(std::forward<A>(a)...));
    return items_.size() - 1;
  }
  void erase(std::size_t i) { items_[i].reset(); free_.push_back(i); }
  T* get(std::size_t i) { return i < items_.size() ? items_[i].get() : nullptr; }
  template <typename F>
  void each(F&& f) { for (auto& p : items_) if (p) f(*p); }
 private:
  std::vector<std::unique_ptr<T>> items_;
  std::vector<std::size_t> free_;
};

struct Entity {
  std::string name;
  std::vector<Component> components;
  std::set<std::string> tags;
  std::unordered_map<std::string, std::function<void(Entity&, float)>> handlers;
};

class World {
 public:
  std::size_t spawn(const std::string& name, std::initializer_list<std::string> tags) {
    std::size_t id = entities_.emplace();
    Entity* e = entities_.get(id);
    e->name = name;
    e->tags.insert(tags.begin(), tags.end());
    e->components.emplace_back(Transform{});
    byName_[name] = id;
    return id;
  }
  void update(float dt) {
    entities_.each([&](Entity& e) {
      for (auto& c : e.components)
        std::visit([&](auto& v) { tick(v, dt); }, c);
      for (auto& [event, handler] : e.handlers) handler(e, dt);
    });
  }
  std::vector<std::string> find(const std::regex& pattern) {
    std::vector<std::string> out;
    for (auto& [name, id] : byName_)
      if (std::regex_match(name, pattern)) out.push_back(name);
    std::sort(out.begin(), out.end());
    return out;
  }
  std::string report() {
    std::ostringstream s;
    std::map<std::string, int> counts;
    entities_.each([&](Entity& e) { for (auto& t : e.tags) ++counts[t]; });
    for (auto& [tag, n] : counts) s << tag << ": " << n << '\n';
    return s.str();
  }
 private:
  static void tick(Transform& t, float dt) { t.position = t.position + Vec3{1, 0, 0} * dt; }
  static void tick(Mesh& m, float dt) { for (auto& v : m.vertices) v = v * (1 + dt); }
  static void tick(Script& s, float dt) { for (auto& [k, v] : s.vars) v += dt; }
  Pool<Entity> entities_;
  std::map<std::string, std::size_t> byName_;
};

template <typename K, typename V>
std::map<V, std::vector<K>> invert(const std::unordered_map<K, V>& m) {
  std::map<V, std::vector<K>> out;
  for (auto& [k, v] : m) out[v].push_back(k);
  for (auto& [v, ks] : out) std::sort(ks.begin(), ks.end());
  return out;
}

std::vector<std::tuple<std::string, int, double>> parseConfig(const std::string& text) {
  std::vector<std::tuple<std::string, int, double>> out;
  std::regex line(R"((\w+)\s*=\s*(\d+)\s*,\s*([0-9.]+))");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), line); it != std::sregex_iterator(); ++it)
    out.emplace_back((*it)[1], std::stoi((*it)[2]), std::stod((*it)[3]));
  return out;
}

}  // namespace engine

int main() {
  engine::World world;
  for (int i = 0; i < 100; ++i) world.spawn("enemy_" + std::to_string(i), {"enemy", i % 2 ? "flying" : "walking"});
  world.update(0.016f);
  for (auto& n : world.find(std::regex("enemy_[0-9]+"))) std::cout << n << '\n';
  std::cout << world.report();
  std::unordered_map<std::string, int> levels{{"a", 1}, {"b", 2}, {"c", 1}};
  for (auto& [lvl, names] : engine::invert(levels)) std::cout << lvl << ' ' << names.size() << '\n';
  for (auto& [k, n, x] : engine::parseConfig("speed = 3, 1.5\njump = 2, 0.25\n")) std::cout << k << n << x << '\n';
  std::set<engine::Vec3> points{{1, 2, 3}, {0, 0, 0}};
  std::cout << points.size() << std::accumulate(levels.begin(), levels.end(), 0, [](int a, auto& p) { return a + p.second; }) << '\n';
}
