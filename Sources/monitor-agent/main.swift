import MonitorCore
print(MonitorVersion.current)
