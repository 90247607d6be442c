# `flask <command>` typed by hand runs on the app with every command (gunicorn serves wsgi.py,
# the web's app without them: docs/architecture.md, "Two apps: web and commands").
FLASK_APP=marketplace.cli:create_app
