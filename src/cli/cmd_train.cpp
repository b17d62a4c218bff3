// `embtune train`: fine-tunes a model directory with a contrastive or scored loss. Not the engine:
// every flag is generated from the option table of train/train_options.h, then train_run() runs.
#include <memory>

#include "cli/commands.h"
#include "io/st_dir.h"
#include "train/trainer.h"

namespace embtune::cli {

namespace {

// Registers one field of the table as a flag of `sub`.
void add_field(CLI::App* sub, const TrainOptionField& f, TrainOptions* o) {
  std::visit(
      [&](auto member) {
        auto& v = o->*member;
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, bool>) {
          // A switch that is on by default is turned off with --no-<name>.
          if (v) sub->add_flag("!--no-" + f.name, v, f.help);
          else sub->add_flag(f.flag_name(), v, f.help);
        } else if constexpr (std::is_same_v<T, std::optional<std::string>>) {
          sub->add_option_function<std::string>(f.flag_name(), [&v](const std::string& s) { v = s; }, f.help);
        } else {
          CLI::Option* opt = sub->add_option(f.flag_name(), v, f.help);
          if constexpr (std::is_same_v<T, std::vector<std::string>>)
            if (f.comma_list) opt->delimiter(',');
          if (!f.choices.empty()) opt->check(CLI::IsMember(f.choices));
        }
      },
      f.ref);
}

// The flag a field is given with on the command line (bools on by default: --no-<name>).
CLI::Option* field_option(CLI::App* sub, const TrainOptionField& f) {
  CLI::Option* opt = sub->get_option_no_throw(f.flag_name());
  return opt ? opt : sub->get_option_no_throw("--no-" + f.name);
}

// Options from --config for every field not given on the command line; required fields checked.
Status merge_config(CLI::App* sub, TrainOptions* o) {
  if (!o->config.empty()) {
    nlohmann::json j;
    ET_RETURN_IF_ERROR(read_json_file(o->config, &j));
    TrainOptions from_file;
    ET_RETURN_IF_ERROR(train_options_from_json(j, o->config, &from_file));
    for (const TrainOptionField& f : train_option_fields()) {
      CLI::Option* opt = field_option(sub, f);
      if (f.name != "config" && opt && opt->count() == 0) train_option_copy(f, from_file, o);
    }
  }
  for (const TrainOptionField& f : train_option_fields())
    if (f.required && train_option_value(*o, f) == "")
      return make_error("%s is required (on the command line or in --config)", f.flag_name().c_str());
  return Status::ok_status();
}

}  // namespace

void add_train_command(CLI::App& app, const GlobalOptions& g) {
  auto a = std::make_shared<TrainOptions>();
  CLI::App* sub = app.add_subcommand("train", "Fine-tune a model on pairs, triplets or scored pairs");
  for (const TrainOptionField& f : train_option_fields()) add_field(sub, f, a.get());
  on_parsed(sub, [a, sub, &g]() {
    a->quiet = g.quiet;
    Status s = merge_config(sub, a.get());
    if (s.ok()) s = train_run(*a);
    return s.ok() ? 0 : report_error("train", s);
  });
}

}  // namespace embtune::cli
