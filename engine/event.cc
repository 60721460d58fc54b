#include "engine/event.h"

#include <array>
#include <utility>

namespace ledger {
namespace {

constexpr std::array<std::string_view, kActionCount> kActionNames = {
    "MARKET_CREATED", "MARKET_CLOSED", "MARKET_RESOLVED", "PLACED",           "CONFIRMED",
    "FLAGGED",        "CLAWED_BACK",   "REFUNDED",        "WALLET_UNFLAGGED",
};
constexpr std::array<std::string_view, 2> kChoiceNames = {"YES", "NO"};
constexpr std::array<std::string_view, 4> kSeverityNames = {"LOW", "MEDIUM", "HIGH", "CRITICAL"};
constexpr std::array<std::string_view, 4> kBetStatusNames = {"PENDING", "CONFIRMED", "FLAGGED",
                                                             "CLAWED_BACK"};
constexpr std::array<std::string_view, 3> kMarketStatusNames = {"ACTIVE", "CLOSED", "RESOLVED"};

template <typename Enum, size_t N>
std::optional<Enum> ParseName(const std::array<std::string_view, N>& names, std::string_view text) {
  for (size_t i = 0; i < N; ++i) {
    if (names[i] == text) return static_cast<Enum>(i);
  }
  return std::nullopt;
}

}  // namespace

std::string_view ActionName(Action action) { return kActionNames[static_cast<size_t>(action)]; }
std::optional<Action> ParseAction(std::string_view text) {
  return ParseName<Action>(kActionNames, text);
}
std::string_view ChoiceName(Choice choice) { return kChoiceNames[static_cast<size_t>(choice)]; }
std::optional<Choice> ParseChoice(std::string_view text) {
  return ParseName<Choice>(kChoiceNames, text);
}
std::string_view SeverityName(Severity severity) {
  return kSeverityNames[static_cast<size_t>(severity)];
}
std::optional<Severity> ParseSeverity(std::string_view text) {
  return ParseName<Severity>(kSeverityNames, text);
}
std::string_view BetStatusName(BetStatus status) {
  return kBetStatusNames[static_cast<size_t>(status)];
}
std::string_view MarketStatusName(MarketStatus status) {
  return kMarketStatusNames[static_cast<size_t>(status)];
}

bool IsMarketAction(Action action) {
  return action == Action::kMarketCreated || action == Action::kMarketClosed ||
         action == Action::kMarketResolved;
}

bool IsBetAction(Action action) {
  return !IsMarketAction(action) && action != Action::kWalletUnflagged;
}

Event StripDerived(const Event& event) {
  Event out = event;
  out.created_at = 0;
  out.created_at_given = true;
  if (IsBetAction(event.action) && event.action != Action::kPlaced) {
    out.market_id.reset();
    out.wallet.reset();
  }
  if (event.action == Action::kWalletUnflagged) out.market_id.reset();
  return out;
}

}  // namespace ledger
