"""The channel's commands and the worker's Telegram sending, registered by `marketplace.cli`
(the app the worker and `flask` run on): they are what needs python-telegram-bot."""
import asyncio

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from telegram.error import Conflict, TelegramError

from marketplace.core.extensions import db
from marketplace.notifications.channels import telegram_enabled
from marketplace.notifications.services import deliver
from marketplace.notifications.telegram import handle_update, set_delivery
from marketplace.notifications.telegram_bot import bot_for, deliver_telegram, run_async


def register(app: Flask) -> None:
    for command in commands:
        app.cli.add_command(command)
    set_delivery(app, deliver_telegram)


@click.command("send-outbox")
@with_appcontext
def send_outbox_command() -> None:
    """Send (or retry) every email in the outbox that has not gone out."""
    sent = deliver(limit=10_000)
    click.echo(f"{sent} email(s) sent.")


@click.command("telegram-poll")
@click.option("--timeout", default=30, show_default=True, help="Seconds one long poll waits for updates.")
@click.option("--once", is_flag=True, help="Handle what is waiting, then stop (tests, a cron job).")
@with_appcontext
def telegram_poll_command(timeout: int, once: bool) -> None:
    """Read the bot's updates by long polling (one machine; production may use the webhook instead)."""
    if not telegram_enabled():
        raise click.ClickException("Set TELEGRAM_BOT_TOKEN and TELEGRAM_BOT_USERNAME first.")
    click.echo(f"Polling Telegram for @{current_app.config['TELEGRAM_BOT_USERNAME']}'s updates", err=True)
    handled = run_async(_poll(current_app._get_current_object(), timeout, once))
    click.echo(f"{handled} update(s) handled.")


def _handle(app, update: dict) -> None:
    """One update in its own app context and transaction."""
    with app.app_context():
        handle_update(update)
        db.session.commit()


async def _poll(app, timeout: int, once: bool) -> int:
    offset, handled = None, 0
    async with bot_for(app.config, read_timeout=timeout) as bot:  # getMe first: a wrong token stops here
        while True:
            try:
                updates = await bot.get_updates(offset=offset, timeout=0 if once else timeout,
                                                allowed_updates=["message", "my_chat_member"])
            except Conflict as exc:
                raise click.ClickException("A webhook is set for this bot; remove it with "
                                           "`flask telegram-webhook --delete` to poll.") from exc
            except TelegramError as exc:
                click.echo(f"Telegram did not answer ({type(exc).__name__}); trying again in 5 s", err=True)
                await asyncio.sleep(5)
                continue
            for update in updates:
                # In a thread of its own: its replies are delivered after the commit, which may
                # run here and now (TASK_QUEUE_IMMEDIATE) with an event loop of its own.
                await asyncio.to_thread(_handle, app, update.to_dict())
                handled += 1
                offset = update.update_id + 1
            if once and not updates:
                if offset is not None:
                    await bot.get_updates(offset=offset, timeout=0)  # confirm what was handled
                return handled


@click.command("telegram-webhook")
@click.option("--delete", "remove", is_flag=True, help="Remove the webhook (to poll instead).")
@with_appcontext
def telegram_webhook_command(remove: bool) -> None:
    """Point the bot's webhook at SITE_URL/telegram/webhook with TELEGRAM_WEBHOOK_SECRET (or remove it)."""
    config = current_app.config
    if not telegram_enabled():
        raise click.ClickException("Set TELEGRAM_BOT_TOKEN and TELEGRAM_BOT_USERNAME first.")
    if not remove and not config.get("TELEGRAM_WEBHOOK_SECRET"):
        raise click.ClickException("Set TELEGRAM_WEBHOOK_SECRET first: the webhook refuses updates without it.")
    url = config["SITE_URL"].rstrip("/") + "/telegram/webhook"

    async def call():
        async with bot_for(config) as bot:
            if remove:
                return await bot.delete_webhook()
            return await bot.set_webhook(url, secret_token=config["TELEGRAM_WEBHOOK_SECRET"],
                                         allowed_updates=["message", "my_chat_member"])

    run_async(call())
    click.echo("Webhook removed." if remove else f"Webhook set to {url}.")


commands = [send_outbox_command, telegram_poll_command, telegram_webhook_command]
