"""Ask the cluster once: v2 find, falling back to the proxy's v1 channel (PROTOCOL §1, §4).

Never raises for an unreachable or misbehaving cluster: the failure is returned in the
``ClusterView`` so the policy can say "nothing changed, the agent keeps running".
"""

from __future__ import annotations

import httpx

from engine.errors import InvalidInput, SourceError
from engine.policy.inputs import ClusterView
from engine.sources.channel import DEFAULT_CHANNEL, ChannelClient
from engine.sources.find import find

__all__ = ["ask_cluster"]


def ask_cluster(
    client: httpx.Client,
    proxy_address: str,
    *,
    group: str | None,
    update_id: str | None,
    channel: str = DEFAULT_CHANNEL,
    channel_client: ChannelClient | None = None,
) -> ClusterView:
    """Ask ``/webapi/find``; when it has no ``auto_update`` block, read the v1 channel."""
    try:
        answer = find(client, proxy_address, group=group, update_id=update_id)
    except (SourceError, InvalidInput) as e:  # InvalidInput: a bad proxy/group in update.yaml
        return ClusterView(failure=str(e))
    if answer.auto_update is not None:
        return ClusterView(find=answer)
    v1 = channel_client or ChannelClient(client, proxy_address=proxy_address, channel=channel)
    try:
        return ClusterView(find=answer, channel=v1.get())
    except SourceError as e:
        return ClusterView(
            failure=f"the cluster has no managed updates and its v1 channel failed: {e}"
        )
