"""Demo data for `shutter seed`: a reproducible plan, then the same use cases a client calls.

`plan_demo` decides everything from a seed (pure, no I/O): users with names and bios, a follow
graph with a few popular accounts, posts with captions (#hashtags, @mentions) and generated
pictures, likes and comments. `seed_demo` carries the plan out through the services (sign_up,
update_profile, follow_user, create_upload + complete_upload, create_post, like_post,
add_comment), so counters, feeds, hashtags, search jobs and notifications end up exactly as if
people had done it. Nothing is written with raw SQL.

Pictures are processed as a client's are: by the `process_media` job complete_upload queues,
which a worker runs (whichever takes it: `shutter seed` runs one, and so does a `shutter run`
next to it; the queue runs each job once) while the seed waits for the job to finish. The seed
never processes a picture itself, so it never races a worker for one.

Refusal rather than idempotence: `check_not_seeded` raises `AlreadySeededError` when the demo
user (or any planned username) exists, so a second run changes nothing.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
from collections.abc import Callable
from dataclasses import dataclass

from media.demo_images import STYLES, ImageSpec, ImageStyle, render_demo_image
from services import accounts, comments, follows, likes, media, posts, profile_pictures
from services.accounts import AccountDeps, ProfileChanges
from services.auth import Viewer
from services.media import MediaDeps
from services.posts import PostDeps
from services.rate_limits import ActionLimits, RateLimitPolicy
from services.social import SocialDeps
from services.tokens import RefreshToken
from storage import jobs
from storage.pg import media as media_store
from storage.pg import users as user_store

Progress = Callable[[str, int, int], None]
"""Called as progress(step, done, total) after each item of a step."""

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "shutter demo"  # noqa: S105 (published on purpose: demo accounts)
"""Every seeded account's password (printed at the end of `shutter seed`)."""
EMAIL_DOMAIN = "example.com"
MAX_USERS = 500
MAX_POSTS_PER_USER = 50

SEED_LIMIT = ActionLimits(per_hour=1_000_000, per_day=1_000_000)
"""Seeding acts for many people at once; its own (generous) limits also keep their counters
apart from the accounts' real allowances (the limit is part of the Redis key)."""

_POPULAR = (
    ("alpine.light", "Alpine Light", "Mountains at every hour. Ridge lines, haze and suns."),
    ("topo.studio", "Topo Studio", "Noise, contours and generative maps of imaginary places."),
    ("shape.club", "Shape Club", "Circles, bars and colour. Minimal, every day."),
    ("type.cards", "Type Cards", "Words on gradients. Send us yours."),
)
_SIGNATURE: dict[str, ImageStyle] = {
    "alpine.light": "landscape",
    "topo.studio": "noise",
    "shape.club": "shapes",
    "type.cards": "card",
}
_FIRST = (
    "maya",
    "ana",
    "leo",
    "noah",
    "ines",
    "omar",
    "yuki",
    "lena",
    "arjun",
    "sofia",
    "kofi",
    "nina",
    "ravi",
    "elena",
    "tomas",
    "amara",
    "jonas",
    "lucia",
    "mateo",
    "zara",
    "felix",
    "ada",
    "hugo",
    "iris",
    "kai",
    "mila",
    "otto",
    "rosa",
    "sami",
    "theo",
)
_LAST = (
    "okafor",
    "silva",
    "berg",
    "tanaka",
    "novak",
    "rossi",
    "haddad",
    "kim",
    "moreau",
    "singh",
    "larsen",
    "costa",
    "weber",
    "ibrahim",
    "park",
    "quinn",
    "adeyemi",
    "fischer",
    "lopez",
    "sato",
)
_BIOS = (
    "Chasing light on weekends.",
    "Coffee, trains and colour palettes.",
    "Designer by day, generative art by night.",
    "Sunsets are my love language.",
    "Collecting skies since 2019.",
    "Minimalist. Mostly.",
    "I post what the noise function gives me.",
    "Hiking, maps and too many gradients.",
    "Every picture here was rendered, not taken.",
    "Trying to post every day. Failing gracefully.",
)
_TAGS: dict[ImageStyle, tuple[str, ...]] = {
    "landscape": ("mountains", "sunset", "landscape", "goldenhour", "hiking"),
    "shapes": ("abstract", "geometry", "minimal", "design", "colour"),
    "noise": ("generativeart", "texture", "pattern", "topography", "perlin"),
    "card": ("typography", "quote", "mood", "words", "gradient"),
}
_COMMON_TAGS = ("shutter", "nofilter", "weekend", "colors", "demo")
_OPENERS: dict[ImageStyle, tuple[str, ...]] = {
    "landscape": ("Ridge after ridge.", "The sun stayed late today.", "Hazy hills at dusk."),
    "shapes": ("Circles and bars.", "Trying a new palette.", "Less is more, again."),
    "noise": ("A map of nowhere.", "Seed number lucky.", "Contours all the way down."),
    "card": ("Words for today.", "Typed it, rendered it.", "Read this slowly."),
}
_CARD_TEXTS = (
    "good morning",
    "slow down",
    "golden hour",
    "make more things",
    "weekend mood",
    "stay curious",
    "less, but better",
    "hello from shutter",
)
_COMMENTS = (
    "Love these colours!",
    "This is stunning.",
    "Wow 😍",
    "Saving this one.",
    "The palette here is perfect.",
    "How did you make this?",
    "Beautiful work!",
    "This would make a great print.",
)


@dataclass(frozen=True, slots=True)
class PlannedUser:
    username: str
    full_name: str
    bio: str
    popular: bool

    @property
    def email(self) -> str:
        return f"{self.username}@{EMAIL_DOMAIN}"


@dataclass(frozen=True, slots=True)
class PlannedPost:
    author: int
    """Index into DemoPlan.users."""
    caption: str
    images: tuple[ImageSpec, ...]


@dataclass(frozen=True, slots=True)
class PlannedComment:
    author: int
    post: int
    """Index into DemoPlan.posts."""
    text: str


@dataclass(frozen=True, slots=True)
class DemoPlan:
    """Everything seed_demo will do, in order; indexes refer to `users` and `posts`."""

    users: tuple[PlannedUser, ...]
    follows: tuple[tuple[int, int], ...]
    """(follower, followee)."""
    posts: tuple[PlannedPost, ...]
    """In publishing order (authors interleaved, as a real feed would see them)."""
    likes: tuple[tuple[int, int], ...]
    """(user, post)."""
    comments: tuple[PlannedComment, ...]

    @property
    def image_count(self) -> int:
        return sum(len(post.images) for post in self.posts)


@dataclass(frozen=True, slots=True)
class SeedDeps:
    """What seeding touches: the use cases' usual dependency bundles. The pictures' processing
    jobs need a worker running meanwhile (workers.seed runs one)."""

    accounts: AccountDeps
    social: SocialDeps
    posts: PostDeps
    media: MediaDeps
    concurrency: int
    """Pictures rendered and uploaded at once (CPU bound: the machine's cores)."""
    picture_timeout_seconds: float
    """How long one picture's processing job may take, retries included, before seeding gives
    up (RuntimeError)."""

    def unlimited(self) -> SeedDeps:
        """The same dependencies with the seeding rate limits (see SEED_LIMIT)."""
        policy = RateLimitPolicy(SEED_LIMIT, SEED_LIMIT, SEED_LIMIT, SEED_LIMIT)
        social = dataclasses.replace(self.social, limits=policy)
        publishing = dataclasses.replace(self.posts, social=social)
        return dataclasses.replace(self, social=social, posts=publishing)


@dataclass(frozen=True, slots=True)
class SeedReport:
    users: int
    follows: int
    posts: int
    images: int
    likes: int
    comments: int


class AlreadySeededError(Exception):
    """The database already holds (some of) the demo accounts; nothing was written."""


def check_sizes(users: int, posts_per_user: int) -> None:
    """Raise ValueError unless 2..MAX_USERS users and 0..MAX_POSTS_PER_USER posts each."""
    if not 2 <= users <= MAX_USERS or not 0 <= posts_per_user <= MAX_POSTS_PER_USER:
        raise ValueError(f"use 2 to {MAX_USERS} users and 0 to {MAX_POSTS_PER_USER} posts per user")


def plan_demo(users: int, posts_per_user: int, seed: int) -> DemoPlan:
    """Decide the whole demo from `seed` (same arguments, same plan). Pure.

    `users` counts the demo user; the first accounts after it are the popular ones.
    Raises ValueError for sizes outside 2..MAX_USERS users, 0..MAX_POSTS_PER_USER posts each.
    """
    check_sizes(users, posts_per_user)
    rng = random.Random(seed)  # noqa: S311 (reproducible demo data, not secrets)
    people = _plan_users(rng, users)
    follows = _plan_follows(rng, people)
    planned_posts = _plan_posts(rng, people, follows, posts_per_user)
    return DemoPlan(
        users=people,
        follows=follows,
        posts=planned_posts,
        likes=_plan_likes(rng, people, follows, planned_posts),
        comments=_plan_comments(rng, people, planned_posts),
    )


def _plan_users(rng: random.Random, count: int) -> tuple[PlannedUser, ...]:
    people = [PlannedUser(DEMO_USERNAME, "Demo User", "Exploring Shutter. Say hi!", False)]
    popular = min(len(_POPULAR), max(1, (count - 1) // 6))
    people += [PlannedUser(*entry, popular=True) for entry in _POPULAR[:popular]]
    names = [(first, last) for first in _FIRST for last in _LAST]
    rng.shuffle(names)
    for first, last in names[: count - len(people)]:
        people.append(
            PlannedUser(
                username=f"{first}.{last}",
                full_name=f"{first.title()} {last.title()}",
                bio=rng.choice(_BIOS),
                popular=False,
            )
        )
    return tuple(people)


def _plan_follows(
    rng: random.Random, people: tuple[PlannedUser, ...]
) -> tuple[tuple[int, int], ...]:
    """Popular accounts are followed by most; the demo user follows widely (a full feed) and
    is followed by about half (notifications to look at)."""
    edges = []
    for follower in range(len(people)):
        for followee in range(len(people)):
            if follower == followee:
                continue
            if people[followee].popular:
                chance = 0.85
            elif follower == 0:
                chance = 0.6
            elif followee == 0:
                chance = 0.5
            else:
                chance = 0.2
            if rng.random() < chance:
                edges.append((follower, followee))
    followed = {follower for follower, _ in edges}
    for lonely in range(len(people)):  # everyone follows somebody: no empty home feed
        if lonely not in followed:
            edges.append((lonely, 1 if lonely != 1 else 0))
    return tuple(edges)


def _plan_posts(
    rng: random.Random,
    people: tuple[PlannedUser, ...],
    follows: tuple[tuple[int, int], ...],
    per_user: int,
) -> tuple[PlannedPost, ...]:
    followees: dict[int, list[int]] = {}
    for follower, followee in follows:
        followees.setdefault(follower, []).append(followee)
    planned = []
    for _ in range(per_user):
        order = list(range(len(people)))
        rng.shuffle(order)
        for author in order:
            signature = _SIGNATURE.get(people[author].username)
            style = signature if signature is not None else rng.choice(STYLES)
            images = _images(rng, style, count=rng.choice((1, 1, 1, 1, 2, 3)))
            caption = _caption(rng, style, people, followees.get(author, []))
            planned.append(PlannedPost(author=author, caption=caption, images=images))
    return tuple(planned)


def _images(rng: random.Random, style: ImageStyle, *, count: int) -> tuple[ImageSpec, ...]:
    """One picture, or a carousel of a few, in one style."""
    return tuple(
        ImageSpec(style, rng.randrange(2**31), rng.choice(_CARD_TEXTS) if style == "card" else "")
        for _ in range(count)
    )


def _caption(
    rng: random.Random, style: ImageStyle, people: tuple[PlannedUser, ...], followees: list[int]
) -> str:
    tags = rng.sample(_TAGS[style], rng.randint(1, 3))
    if rng.random() < 0.5:
        tags.append(rng.choice(_COMMON_TAGS))
    text = f"{rng.choice(_OPENERS[style])} {' '.join('#' + tag for tag in tags)}"
    if followees and rng.random() < 0.3:
        text += f" with @{people[rng.choice(followees)].username}"
    return text


def _plan_likes(
    rng: random.Random,
    people: tuple[PlannedUser, ...],
    follows: tuple[tuple[int, int], ...],
    planned_posts: tuple[PlannedPost, ...],
) -> tuple[tuple[int, int], ...]:
    following = set(follows)
    chosen = []
    for post_index, post in enumerate(planned_posts):
        for user in range(len(people)):
            if user == post.author:
                continue
            chance = 0.5 if (user, post.author) in following else 0.12
            if people[post.author].popular:
                chance += 0.2
            if rng.random() < chance:
                chosen.append((user, post_index))
    return tuple(chosen)


def _plan_comments(
    rng: random.Random, people: tuple[PlannedUser, ...], planned_posts: tuple[PlannedPost, ...]
) -> tuple[PlannedComment, ...]:
    chosen = []
    for post_index, post in enumerate(planned_posts):
        others = [user for user in range(len(people)) if user != post.author]
        for author in rng.sample(others, min(len(others), rng.choice((0, 1, 1, 2, 3)))):
            text = rng.choice(_COMMENTS)
            if rng.random() < 0.3:
                text = f"@{people[post.author].username} {text}"
            chosen.append(PlannedComment(author=author, post=post_index, text=text))
    return tuple(chosen)


async def check_not_seeded(deps: SeedDeps, plan: DemoPlan) -> None:
    """Raise AlreadySeededError when any planned username is taken. Side effects: one read."""
    taken = await user_store.fetch_user_ids_by_usernames(
        deps.accounts.db, [user.username for user in plan.users]
    )
    if taken:
        names = ", ".join(sorted(taken)[:5])
        raise AlreadySeededError(f"these accounts exist already: {names}")


async def seed_demo(deps: SeedDeps, plan: DemoPlan, progress: Progress) -> SeedReport:
    """Carry out `plan` through the services, reporting each step to `progress`.

    Checks first (check_not_seeded): nothing is written when the demo data exists. Side
    effects: everything the called use cases do (rows, Redis counters and feeds, notification
    pushes, blobs: originals under uploads/ and variants under media/), and the jobs they
    queue: fan-out and search indexing (run by a worker; `shutter seed` drains the queue
    itself). Raises DomainError if a use case refuses (a bug in the plan, or a full disk).
    """
    await check_not_seeded(deps, plan)
    deps = deps.unlimited()
    viewers = await _sign_up_all(deps, plan, progress)
    for done, (follower, followee) in enumerate(plan.follows, 1):
        await follows.follow_user(deps.social, viewers[follower], viewers[followee].user_id)
        progress("follows", done, len(plan.follows))
    media_ids = await _upload_all(deps, plan, viewers, progress)
    await _set_pictures(deps, plan, viewers, media_ids, progress)
    post_ids = []
    for done, (post, ids) in enumerate(zip(plan.posts, media_ids, strict=True), 1):
        created = await posts.create_post(
            deps.posts, viewers[post.author], media_ids=ids, caption=post.caption, alt_texts=[]
        )
        post_ids.append(created.id)
        progress("posts", done, len(plan.posts))
    for done, (user, post_index) in enumerate(plan.likes, 1):
        await likes.like_post(deps.social, viewers[user], post_ids[post_index])
        progress("likes", done, len(plan.likes))
    for done, comment in enumerate(plan.comments, 1):
        await comments.add_comment(
            deps.social, viewers[comment.author], post_id=post_ids[comment.post], text=comment.text
        )
        progress("comments", done, len(plan.comments))
    await likes.flush_like_counts(deps.social.db, deps.social.redis)
    return SeedReport(
        users=len(plan.users),
        follows=len(plan.follows),
        posts=len(plan.posts),
        images=plan.image_count,
        likes=len(plan.likes),
        comments=len(plan.comments),
    )


async def _sign_up_all(deps: SeedDeps, plan: DemoPlan, progress: Progress) -> list[Viewer]:
    viewers = []
    for done, person in enumerate(plan.users, 1):
        signed_in = await accounts.sign_up(
            deps.accounts,
            username=person.username,
            email=person.email,
            password=DEMO_PASSWORD,
            full_name=person.full_name,
            client_ip=None,  # the operator's own command: no address to limit
            verified=True,  # demo addresses receive no mail
        )
        viewer = Viewer(
            user_id=signed_in.user.id,
            session_id=RefreshToken.parse(signed_in.refresh_token).session_id,
        )
        await accounts.update_profile(deps.accounts, viewer, ProfileChanges(bio=person.bio))
        viewers.append(viewer)
        progress("users", done, len(plan.users))
    return viewers


async def _upload_all(
    deps: SeedDeps, plan: DemoPlan, viewers: list[Viewer], progress: Progress
) -> list[list[int]]:
    """Render and upload every picture, `deps.concurrency` at a time, and wait for each to be
    processed (the uploads go on meanwhile, so the workers always have pictures to process);
    the media ids of each post, in plan order."""
    slots = asyncio.Semaphore(deps.concurrency)
    done = 0

    async def one(owner: Viewer, spec: ImageSpec, name: str) -> int:
        nonlocal done
        async with slots:
            media_id = await _upload_picture(deps, owner, spec, name)
        await _wait_until_processed(deps, media_id, name)
        done += 1
        progress("pictures", done, plan.image_count)
        return media_id

    tasks = [
        [
            one(viewers[post.author], spec, f"demo-{index}-{position}.jpg")
            for position, spec in enumerate(post.images)
        ]
        for index, post in enumerate(plan.posts)
    ]
    return await asyncio.gather(*(asyncio.gather(*row) for row in tasks))


async def _set_pictures(
    deps: SeedDeps,
    plan: DemoPlan,
    viewers: list[Viewer],
    media_ids: list[list[int]],
    progress: Progress,
) -> None:
    """Every demo account's profile picture: the first photo of its first post (every account
    has posts: plan_posts gives each one `posts_per_user`)."""
    first_photo: dict[int, int] = {}
    for post, ids in zip(plan.posts, media_ids, strict=True):
        first_photo.setdefault(post.author, ids[0])
    for done, (author, media_id) in enumerate(sorted(first_photo.items()), 1):
        await profile_pictures.set_profile_picture(deps.media, viewers[author], media_id)
        progress("profile pictures", done, len(first_photo))


async def _upload_picture(deps: SeedDeps, owner: Viewer, spec: ImageSpec, name: str) -> int:
    """One picture through the real upload path: createUpload, the bytes written where the
    presigned PUT would put them, then completeUpload, which queues its processing job.
    Returns the media id."""
    data = await asyncio.to_thread(render_demo_image, spec)
    created = await media.create_upload(
        deps.media, owner, filename=name, content_type="image/jpeg", byte_size=len(data)
    )
    await deps.media.blobs.put(
        media.upload_key(created.media.id), data, content_type="image/jpeg", cache_control="private"
    )
    await media.complete_upload(deps.media, owner, created.media.id)
    return created.media.id


async def _wait_until_processed(deps: SeedDeps, media_id: int, name: str) -> None:
    """Wait for the picture's processing job, run by whichever worker took it.

    Raises RuntimeError if the media did not end READY (or its job did not finish within
    `deps.picture_timeout_seconds`). Side effects: Redis reads while waiting, one SELECT."""
    try:
        await jobs.wait_for_process_media(
            deps.media.queue, media_id, timeout_seconds=deps.picture_timeout_seconds
        )
    except TimeoutError:
        raise RuntimeError(
            f"demo picture {name} was not processed within {deps.picture_timeout_seconds:.0f} s:"
            " is a worker running?"
        ) from None
    (record,) = await media_store.fetch_media_by_ids(deps.media.db, [media_id])
    if record.status != "READY":
        raise RuntimeError(f"demo picture {name} ended {record.status}: {record.rejection_reason}")
