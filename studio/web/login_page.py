"""The login form the password gate serves: one self-contained page, nothing fetched from elsewhere."""

from __future__ import annotations

import html


def login_page(action: str, target: str, error: str) -> bytes:
    message = f'<p class="error">{html.escape(error)}</p>' if error else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Studio — log in</title>
<style>
body {{ font-family: system-ui, sans-serif; background: #0e1117; color: #fafafa; display: grid;
       place-items: center; min-height: 100vh; margin: 0; }}
form {{ background: #1c1f26; padding: 2rem; border-radius: 12px; width: 20rem; }}
input, button {{ width: 100%; box-sizing: border-box; padding: .6rem; margin-top: .6rem; border-radius: 6px;
                border: 1px solid #444; font-size: 1rem; }}
button {{ background: #ff6b4a; color: #fff; border: 0; cursor: pointer; }}
.error {{ color: #ff8a80; }}
</style></head>
<body><form method="post" action="{html.escape(action, quote=True)}">
<h1>Studio</h1>
<p>This studio is password protected.</p>{message}
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" autofocus required>
<input type="hidden" name="next" value="{html.escape(target, quote=True)}">
<button type="submit">Log in</button>
</form></body></html>""".encode()
