// The validation context of this host: which Postgres majors are installed, and their parameter
// catalogues (loaded on first use, cached on disk per exact version).
#pragma once

#include <map>
#include <memory>
#include <string>

#include "model/validator.h"

namespace pgstack::host {

class HostValidationContext {
 public:
  HostValidationContext();
  const model::ValidationContext& context() const { return context_; }
  // Why a catalogue could not be loaded (empty when every requested one loaded).
  const std::string& catalogue_problem() const { return state_->problem; }

 private:
  struct State {
    std::map<int, std::unique_ptr<model::ParameterCatalog>> catalogues;
    std::string problem;
  };
  std::shared_ptr<State> state_ = std::make_shared<State>();
  model::ValidationContext context_;
};

}  // namespace pgstack::host
