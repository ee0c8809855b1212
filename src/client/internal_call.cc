#include "client/internal_call.h"

#include "client/client_impl.h"
#include "common/assert.h"

namespace kv::client {

namespace {

asio::awaitable<Result<net::ResponseBody>> call_op(std::shared_ptr<Client::Impl> impl, net::RequestOp op,
                                                   detail::OpSpec spec) {
  auto executing = impl->execute(std::move(op), std::move(spec));
  Result<net::ResponseBody> answer = co_await std::move(executing);
  co_return answer;
}

}  // namespace

asio::awaitable<Result<net::ResponseBody>> internal_call(Client& client, net::RequestOp op, std::string route_key,
                                                         InternalCallOptions options) {
  const std::shared_ptr<Client::Impl>& impl = detail::ClientAccess::impl(client);
  const bool commit = std::holds_alternative<net::TxnCommitRequest>(op);
  const auto budget = options.timeout.count() > 0 ? options.timeout : impl->options.operation_timeout;
  detail::OpSpec spec = detail::default_spec(op, budget);
  spec.route_key = std::move(route_key);
  spec.session = spec.is_write && !commit;
  spec.resend_when_maybe_applied = !commit;
  spec.errors_as_answers = true;
  KV_ASSERT(!spec.session || spec.is_write);
  return call_op(impl, std::move(op), std::move(spec));
}

}  // namespace kv::client
