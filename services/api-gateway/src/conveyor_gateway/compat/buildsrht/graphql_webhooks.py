"""builds.sr.ht GraphQL: user webhooks (``userWebhooks``, ``createUserWebhook``, ``deleteUserWebhook``)."""

from typing import Any

from ariadne import InterfaceType
from graphql import GraphQLError

from ...errors import GatewayError
from .errors import BuildsError
from .graphql import context_of, mutation, query, reason_of, require_scope
from .webhooks import Subscription, create_webhook, delete_webhook, list_webhooks

subscription = InterfaceType("WebhookSubscription")


@subscription.type_resolver
def _subscription_type(obj: Any, *_: Any) -> str:
    return "UserWebhookSubscription"


@query.field("userWebhooks")
async def _user_webhooks(_: Any, info: Any, cursor: str | None = None) -> dict[str, Any]:
    del cursor  # one page: a user's hooks are few
    ctx = context_of(info)
    return {"results": await list_webhooks(ctx.state, ctx.principal), "cursor": None}


@mutation.field("createUserWebhook")
async def _create_webhook(_: Any, info: Any, config: dict[str, Any]) -> Subscription:
    ctx = context_of(info)
    require_scope(ctx, "hooks")
    try:
        return await create_webhook(ctx.state, ctx.principal, config["url"], config["events"], config["query"])
    except BuildsError as exc:
        raise GraphQLError(reason_of(exc.errors[0])) from None
    except GatewayError as exc:
        raise GraphQLError(exc.detail) from None


@mutation.field("deleteUserWebhook")
async def _delete_webhook(_: Any, info: Any, id: int) -> Subscription:
    ctx = context_of(info)
    require_scope(ctx, "hooks")
    try:
        return await delete_webhook(ctx.state, ctx.principal, id)
    except BuildsError as exc:
        raise GraphQLError(reason_of(exc.errors[0])) from None
