"""Posts, likes and comments over HTTP."""

from __future__ import annotations

from schema.global_ids import encode_global_id
from tests.api.helpers import sign_up, snapshot
from tests.conftest import LiveApp
from tests.factories import make_media

CREATE_POST = """
mutation Create($input: CreatePostInput!) {
  createPost(input: $input) {
    post { id status caption hashtags author { username postCount } media { id altText } }
    userErrors { code field }
  }
}
"""
POST_VIEW = """
query P($id: ID!) {
  post(id: $id) {
    id likeCount viewerHasLiked commentCount
    comments { edges { node { text author { username } } } }
    likers { edges { node { username } } }
  }
}
"""


async def test_post_like_comment_and_delete(live: LiveApp) -> None:
    author = await sign_up(live, "author")
    fan = await sign_up(live, "fan")
    author_id = await live.resources.db.fetchval("SELECT id FROM users WHERE username = 'author'")
    media_ids = [
        encode_global_id("Media", await make_media(live.resources.db, author_id)) for _ in range(2)
    ]
    created = await live.graphql(
        CREATE_POST,
        {
            "input": {
                "media": [{"mediaId": media_ids[0], "altText": "a cat"}]
                + [{"mediaId": m} for m in media_ids[1:]],
                "caption": "Hello #World #world",
            }
        },
        token=author["accessToken"],
    )
    post = created["data"]["createPost"]["post"]
    assert created["data"]["createPost"]["userErrors"] == []
    assert post["status"] == "PUBLISHED"
    assert post["hashtags"] == ["world"]
    assert post["author"] == {"username": "author", "postCount": 1}
    assert post["media"] == [
        {"id": media_ids[0], "altText": "a cat"},
        {"id": media_ids[1], "altText": None},
    ]

    liked = await live.graphql(
        "mutation L($id: ID!) { likePost(input: {postId: $id}) "
        "{ post { likeCount viewerHasLiked } userErrors { code } } }",
        {"id": post["id"]},
        token=fan["accessToken"],
    )
    assert liked["data"]["likePost"] == {
        "post": {"likeCount": 1, "viewerHasLiked": True},
        "userErrors": [],
    }
    commented = await live.graphql(
        "mutation C($input: AddCommentInput!) { addComment(input: $input) "
        "{ comment { text } userErrors { code } } }",
        {"input": {"postId": post["id"], "text": "purr"}},
        token=fan["accessToken"],
    )
    assert commented["data"]["addComment"] == {"comment": {"text": "purr"}, "userErrors": []}

    view = await live.graphql(POST_VIEW, {"id": post["id"]}, token=author["accessToken"])
    assert view["data"]["post"] == {
        "id": post["id"],
        "likeCount": 1,
        "viewerHasLiked": False,
        "commentCount": 1,
        "comments": {"edges": [{"node": {"text": "purr", "author": {"username": "fan"}}}]},
        "likers": {"edges": [{"node": {"username": "fan"}}]},
    }

    refused = await live.graphql(
        "mutation D($id: ID!) { deletePost(input: {postId: $id}) { deletedPostId"
        " userErrors { code } } }",
        {"id": post["id"]},
        token=fan["accessToken"],
    )
    assert refused["data"]["deletePost"] == {
        "deletedPostId": None,
        "userErrors": [{"code": "FORBIDDEN"}],
    }
    deleted = await live.graphql(
        "mutation D($id: ID!) { deletePost(input: {postId: $id}) { deletedPostId"
        " userErrors { code } } }",
        {"id": post["id"]},
        token=author["accessToken"],
    )
    assert deleted["data"]["deletePost"] == {"deletedPostId": post["id"], "userErrors": []}
    gone = await live.graphql(POST_VIEW, {"id": post["id"]}, token=author["accessToken"])
    assert gone["data"] == {"post": None}
    profile = await live.graphql(
        '{ user(username: "author") { postCount posts { edges { node { id } } } } }'
    )
    assert profile["data"]["user"] == {"postCount": 0, "posts": {"edges": []}}


async def test_likes_of_a_deleted_post_cannot_be_changed_nor_the_post_read(live: LiveApp) -> None:
    """A deleted post is NOT_FOUND to likePost and unlikePost alike: nothing of it (status,
    caption, media, others' comments) comes back in the payload, and no like moves."""
    author = await sign_up(live, "author")
    fan = await sign_up(live, "fan")
    author_id = await live.resources.db.fetchval("SELECT id FROM users WHERE username = 'author'")
    media_id = encode_global_id("Media", await make_media(live.resources.db, author_id))
    created = await live.graphql(
        CREATE_POST,
        {"input": {"media": [{"mediaId": media_id}], "caption": "soon gone"}},
        token=author["accessToken"],
    )
    post_id = created["data"]["createPost"]["post"]["id"]
    change = """mutation M($id: ID!) {
      %s(input: {postId: $id}) { post { status caption likeCount } userErrors { code field } } }"""
    liked = await live.graphql(change % "likePost", {"id": post_id}, token=fan["accessToken"])
    assert liked["data"]["likePost"] == {
        "post": {"status": "PUBLISHED", "caption": "soon gone", "likeCount": 1},
        "userErrors": [],
    }
    deleted = await live.graphql(
        "mutation M($id: ID!) { deletePost(input: {postId: $id}) { userErrors { code } } }",
        {"id": post_id},
        token=author["accessToken"],
    )
    assert deleted["data"]["deletePost"]["userErrors"] == []
    not_found = {"post": None, "userErrors": [{"code": "NOT_FOUND", "field": ["input", "postId"]}]}
    for mutation, token in (
        ("unlikePost", fan["accessToken"]),
        ("likePost", fan["accessToken"]),
        ("unlikePost", author["accessToken"]),
        ("likePost", author["accessToken"]),
    ):
        before = await snapshot(live.resources)
        body = await live.graphql(change % mutation, {"id": post_id}, token=token)
        assert body == {"data": {mutation: not_found}}
        assert await snapshot(live.resources) == before
