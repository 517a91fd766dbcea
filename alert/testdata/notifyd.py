# A desktop notification server for the notify-send test: it owns
# org.freedesktop.Notifications on the session bus it runs in, appends each
# notification to argv[1] and writes the bus address to argv[2] once ready.
import os
import sys

import dbus
import dbus.mainloop.glib
import dbus.service
from gi.repository import GLib

IFACE = "org.freedesktop.Notifications"


class Server(dbus.service.Object):
    @dbus.service.method(IFACE, in_signature="susssasa{sv}i", out_signature="u")
    def Notify(self, app, replaces, icon, summary, body, actions, hints, timeout):
        with open(sys.argv[1], "a") as f:
            f.write(f"{app}\t{summary}\t{body}\n")
        return 1

    @dbus.service.method(IFACE, out_signature="as")
    def GetCapabilities(self):
        return ["body"]

    @dbus.service.method(IFACE, out_signature="ssss")
    def GetServerInformation(self):
        return ("notifyd.py", "iotwatch", "1", "1.2")


dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
bus = dbus.SessionBus()
name = dbus.service.BusName(IFACE, bus)
Server(bus, "/org/freedesktop/Notifications")
with open(sys.argv[2] + ".tmp", "w") as f:
    f.write(os.environ["DBUS_SESSION_BUS_ADDRESS"])
os.rename(sys.argv[2] + ".tmp", sys.argv[2])
GLib.MainLoop().run()
