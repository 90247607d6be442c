"""The bottom layer: database base and types, dialect settings, domain errors, money, locale, text. Imports nothing above it."""
