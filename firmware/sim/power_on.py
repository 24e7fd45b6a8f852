# What a board does at power-up, for the virtual board: run main.py from its flash if there is
# one (started with `micropython -i`, so the REPL follows when it stops, as on a board).
import os

if "main.py" in os.listdir():
    with open("main.py") as f:
        exec(f.read())
