"""video_object_node: unsupervised object-centric video latents (SIMONe) for ROS 2 robots."""
__version__ = '0.1.0'
