//! The work queue: higher priority first, first come first served within a
//! priority (a sequence number breaks ties, so equal priorities never
//! reorder).

use std::cmp::Ordering;
use std::collections::BinaryHeap;

struct Entry<T> {
    priority: i32,
    seq: u64,
    item: T,
}

impl<T> PartialEq for Entry<T> {
    fn eq(&self, o: &Self) -> bool {
        self.priority == o.priority && self.seq == o.seq
    }
}
impl<T> Eq for Entry<T> {}
impl<T> PartialOrd for Entry<T> {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl<T> Ord for Entry<T> {
    fn cmp(&self, o: &Self) -> Ordering {
        // BinaryHeap pops the greatest: higher priority, then lower seq.
        self.priority
            .cmp(&o.priority)
            .then_with(|| o.seq.cmp(&self.seq))
    }
}

/// A priority queue with FIFO order among equals.
///
/// ```
/// let mut q = radlab_triage::queue::Queue::default();
/// q.push(0, "routine 1");
/// q.push(5, "stroke");
/// q.push(0, "routine 2");
/// assert_eq!(q.pop(), Some("stroke"));
/// assert_eq!(q.pop(), Some("routine 1"));
/// assert_eq!(q.pop(), Some("routine 2"));
/// ```
pub struct Queue<T> {
    heap: BinaryHeap<Entry<T>>,
    seq: u64,
}

impl<T> Default for Queue<T> {
    fn default() -> Self {
        Queue {
            heap: BinaryHeap::new(),
            seq: 0,
        }
    }
}

impl<T> Queue<T> {
    /// Add an item.
    pub fn push(&mut self, priority: i32, item: T) {
        self.seq += 1;
        self.heap.push(Entry {
            priority,
            seq: self.seq,
            item,
        });
    }

    /// The next item.
    pub fn pop(&mut self) -> Option<T> {
        self.heap.pop().map(|e| e.item)
    }

    /// Items waiting.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}
